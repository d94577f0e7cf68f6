"""The execution sandbox: contract models, execution engine, gRPC server and client.

This layer never imports torch: a machine that only serves the sandbox needs none of the
training stack.
"""
