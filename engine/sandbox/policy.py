"""The compile-time policy of diagram code: RestrictedPython's node transformer, stricter
(no import, class, global, nonlocal or yield), with the limit checks compiled in (``_tick_()``
in every loop, function and comprehension; guarded operators, format specs and ``*`` unpacking).
The names it calls are bound in ``environment.RESTRICTED_NAMES``.
"""

from __future__ import annotations

import ast

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations


class DiagramCodePolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, stricter, with the limit checks compiled in."""

    def _call(self, name: str, args: list, node) -> ast.Call:
        call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
        copy_locations(call, node)
        return call

    def _tick_stmt(self, node) -> ast.Expr:
        stmt = ast.Expr(self._call("_tick_", [], node))
        copy_locations(stmt, node)
        return stmt

    # refused outright ---------------------------------------------------------------
    def visit_Import(self, node):
        self.error(node, "脚本中不允许 import")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "脚本中不允许定义类（class）")

    def visit_Global(self, node):
        self.error(node, "脚本中不允许 global / nonlocal")

    visit_Nonlocal = visit_Global

    def visit_Yield(self, node):
        self.error(node, "脚本中不允许 yield（生成器函数）")

    visit_YieldFrom = visit_Yield

    # time: a check in every loop, function and comprehension --------------------------
    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_For(self, node):
        node = super().visit_For(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.And(), values=[self._call("_tick_", [], node), node.body])
        copy_locations(body, node)
        node.body = body
        return node

    def visit_comprehension(self, node):
        node = super().visit_comprehension(node)
        node.ifs.insert(0, self._call("_tick_", [], node.iter))
        return node

    # memory: operations that allocate in one C call ------------------------------------
    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        # Constants too: the compiler folds only small results ('x' * 10000000000 is left to
        # run time).
        return self._call(name, [node.left, node.right], node)

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        if node.format_spec is None:
            return node
        value = self._call("_format_value_",
                           [node.value, ast.Constant(node.conversion), node.format_spec], node)
        new = ast.FormattedValue(value=value, conversion=-1, format_spec=None)
        copy_locations(new, node)
        return new

    def visit_Starred(self, node):
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = self._call("_star_", [node.value], node)
        return node


_GUARDED_OPS = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Mod: "_mod_",
    ast.FloorDiv: "_floordiv_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
}
