"""Assert tests as the harness runs them: compiled on the trusted side, with every comparison,
arithmetic operation and truth test routed through the harness's strict helpers.

Why here and not in the jail: the rewrite (parse, transform, compile) costs ~1 ms per
HumanEval test, and a trainer sends one prompt's tests with each of its samples. Done here, it
is remembered across requests in a process that is never forked per test, and the harness
receives the code object in its job, marshalled (harness_process.marshal_frame; the jail's
interpreter is this interpreter's base, so the bytecode matches). The helpers themselves, and
what they refuse, live in the harness (``runtime/python_strict.py``, ``_strict_compare`` and
friends).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from types import CodeType

# The names the harness binds its helpers to in test globals (python_strict.py has the same).
CMP_NAME = "__crucible_compare__"
BINOP_NAME = "__crucible_binop__"
TRUTH_NAME = "__crucible_truth__"


class UnrewritableTest(ValueError):
    """Test code that compiles as written but not once rewritten (a construct the rewrite does
    not handle); the message says why."""


@lru_cache(maxsize=1024)
def strict_test_code(code: str, index: int) -> CodeType:
    """The code object of assert test ``code`` (the ``index``-th test: its file name is
    ``<test index>``), rewritten; remembered, so a test seen before costs nothing more. Raises
    SyntaxError or ValueError when ``code`` does not compile as written, UnrewritableTest when
    only the rewritten code does not."""
    filename = f"<test {index}>"
    # compile, not only parse: some errors (e.g. a walrus in a comprehension's iterable) come
    # from the compiler's later passes.
    compile(code, filename, "exec", dont_inherit=True)
    try:
        rewritten = _rewritten(code, filename, scoped=False)
    except SyntaxError:
        try:
            rewritten = _rewritten(code, filename, scoped=True)
        except SyntaxError as exc:
            raise UnrewritableTest(f"{exc.msg} (line {exc.lineno})") from None
    return rewritten


def _rewritten(code: str, filename: str, *, scoped: bool) -> CodeType:
    tree = _TestRewriter(scoped=scoped).visit(ast.parse(code, filename=filename))
    return compile(ast.fix_missing_locations(tree), filename, "exec", dont_inherit=True)


_COMPARE_SYMBOLS: dict[type, str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_BINARY_SYMBOLS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _lambda(parameter: str, body: ast.expr) -> ast.Lambda:
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=parameter)],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    return ast.Lambda(args=arguments, body=body)


def _truth(node: ast.expr) -> ast.expr:
    return ast.copy_location(_call(TRUTH_NAME, node), node)


class _TestRewriter(ast.NodeTransformer):
    """Routes comparisons, arithmetic and truth tests of test code through the strict helpers.
    Chained comparisons keep single evaluation of each operand through named temporaries:
    assignment expressions, or, where the compiler refuses those (a comprehension's iterable,
    a comprehension in a class body), parameters of nested lambdas (``scoped``)."""

    def __init__(self, scoped: bool = False) -> None:
        self.temporaries = 0
        self.scoped = scoped

    def _compare(self, op: ast.cmpop, left: ast.expr, right: ast.expr) -> ast.expr:
        symbol = _COMPARE_SYMBOLS.get(type(op))
        if symbol is None:
            return ast.Compare(left=left, ops=[op], comparators=[right])
        return _call(CMP_NAME, ast.Constant(symbol), left, right)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if self.scoped and len(node.ops) > 1:
            return ast.copy_location(
                self._scoped_chain(node.left, node.ops, node.comparators), node
            )
        left, parts = node.left, []
        for position, (op, right) in enumerate(zip(node.ops, node.comparators, strict=True)):
            if position == len(node.ops) - 1:
                parts.append(self._compare(op, left, right))
                break
            name = f"__crucible_operand_{self.temporaries}__"
            self.temporaries += 1
            stored = ast.NamedExpr(target=ast.Name(id=name, ctx=ast.Store()), value=right)
            parts.append(self._compare(op, left, stored))
            left = ast.Name(id=name, ctx=ast.Load())
        result = parts[0] if len(parts) == 1 else ast.BoolOp(op=ast.And(), values=parts)
        return ast.copy_location(result, node)

    def _scoped_chain(
        self, left: ast.expr, ops: list[ast.cmpop], rights: list[ast.expr]
    ) -> ast.expr:
        """``a < b < c`` as ``(lambda l: (lambda m: cmp(l, m) and cmp(m, c))(b))(a)``: a, then
        b, each once, and c only when the first comparison holds, as Python evaluates it."""
        if len(ops) == 1:
            return self._compare(ops[0], left, rights[0])
        outer = f"__crucible_operand_{self.temporaries}__"
        inner = f"__crucible_operand_{self.temporaries + 1}__"
        self.temporaries += 2
        rest = self._scoped_chain(ast.Name(id=inner, ctx=ast.Load()), ops[1:], rights[1:])
        first = self._compare(
            ops[0], ast.Name(id=outer, ctx=ast.Load()), ast.Name(id=inner, ctx=ast.Load())
        )
        body = ast.BoolOp(op=ast.And(), values=[first, rest])
        return ast.Call(
            func=_lambda(outer, ast.Call(func=_lambda(inner, body), args=[rights[0]], keywords=[])),
            args=[left],
            keywords=[],
        )

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        symbol = ast.Constant(_BINARY_SYMBOLS[type(node.op)])
        return ast.copy_location(_call(BINOP_NAME, symbol, node.left, node.right), node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = _truth(node.operand)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        node.values = [_truth(value) for value in node.values]
        return node

    def _visit_tested(self, node: ast.Assert | ast.If | ast.While | ast.IfExp) -> ast.AST:
        """A statement or expression with a ``test`` operand: its truth is a truth test."""
        self.generic_visit(node)
        node.test = _truth(node.test)
        return node

    # ast.NodeVisitor dispatches on these names.
    visit_Assert = visit_If = visit_While = visit_IfExp = _visit_tested  # noqa: N815
