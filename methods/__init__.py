"""Method plugins, one folder each, registered under the ``crucible.methods`` entry-point group."""
