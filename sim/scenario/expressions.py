"""A small, safe expression language for conditions, probabilities and outcomes.

Text is tokenised and parsed by hand into a tree of frozen nodes; every name is checked
against the scenario at load time. Nothing is ever handed to eval/exec: the only operations
are the ones this grammar spells out, and the model compiles the tree into numpy operations
over the replication axis.

    expr    := or ;  or := and ('or' and)* ;  and := not ('and' not)*
    not     := 'not' not | compare ;  compare := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum)?
    sum     := term (('+'|'-') term)* ;  term := unary (('*'|'/') unary)*
    unary   := '-' unary | atom
    atom    := NUMBER | 'true' | 'false' | 'step' | PARAMETER | NAME '(' args ')' | '(' expr ')'
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from dataclasses import dataclass

from sim.errors import did_you_mean

MAX_LENGTH = 2000
MAX_DEPTH = 40    # parentheses, calls, 'not' and unary '-' inside one another
MAX_TREE = 100    # operations inside one another, counting chains: a sum of more than 100 terms is refused
NUMBER, BOOL = "number", "bool"


class ExpressionError(ValueError):
    """A problem in expression text; `column` is 1-based."""

    def __init__(self, message: str, column: int):
        self.column = column
        super().__init__(f"{message} at column {column}")


@dataclass(frozen=True, slots=True)
class Names:
    """What an expression may refer to."""

    actors: tuple[str, ...]
    blocs: tuple[str, ...]
    sites: tuple[str, ...]
    events: tuple[str, ...]
    attributes: tuple[str, ...]
    parameters: tuple[str, ...]


# --- tree ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Num:
    value: float
    type: str = NUMBER


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool
    type: str = BOOL


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str = NUMBER


@dataclass(frozen=True, slots=True)
class Step:
    type: str = NUMBER


@dataclass(frozen=True, slots=True)
class Ref:
    """A name standing for an actor, bloc, site, event or attribute (a function argument)."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple
    type: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: object
    type: str


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: object
    right: object
    type: str


@dataclass(frozen=True, slots=True)
class Expression:
    text: str
    root: object

    @property
    def type(self) -> str:
        return self.root.type


# --- functions ----------------------------------------------------------------------------
# name -> list of (argument kinds, result type); a kind is a set of entity kinds or "number".
_ACTOR, _BLOC, _SITE, _EVENT, _ATTR = "actor", "bloc", "site", "event", "attribute"
FUNCTIONS: dict[str, list[tuple[tuple, str]]] = {
    "relation": [(((_ACTOR,), (_ACTOR, _BLOC)), NUMBER)],
    "alignment": [(((_ACTOR,), (_BLOC,)), NUMBER)],
    "attr": [(((_ACTOR,), (_ATTR,)), NUMBER)],
    "presence": [(((_ACTOR, _BLOC),), NUMBER), (((_ACTOR, _BLOC), (_ACTOR, _SITE)), NUMBER)],
    "planned_presence": [(((_ACTOR, _BLOC),), NUMBER), (((_ACTOR, _BLOC), (_ACTOR, _SITE)), NUMBER)],
    "fired": [(((_EVENT,),), BOOL)],
    "times_fired": [(((_EVENT,),), NUMBER)],
    "since": [(((_EVENT,),), NUMBER)],
    "same_camp": [(((_ACTOR,), (_ACTOR,)), BOOL)],
    "abs": [((NUMBER,), NUMBER)],
    "exp": [((NUMBER,), NUMBER)],
    "min": [((NUMBER, NUMBER), NUMBER)],
    "max": [((NUMBER, NUMBER), NUMBER)],
}
_KEYWORDS = {"and", "or", "not", "true", "false", "step"}

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\[\s*[A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*\s*\])?)"
    r"|(?P<op>\*\*|<=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|,))"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, name, op, end
    text: str
    column: int


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.lastgroup is None:
            bad = text[pos:].lstrip()[0]
            column = len(text) - len(text[pos:].lstrip()) + 1
            raise ExpressionError(f"unexpected character {bad!r}", column)
        column = match.start(match.lastgroup) + 1
        value = match.group(match.lastgroup)
        if match.lastgroup == "name" and "[" in value:  # a template instance id, e.g. expel[chad, france]
            value = re.sub(r"\s+", "", value)
        if value == "**":
            raise ExpressionError("'**' (power) is not supported", column)
        tokens.append(_Token(match.lastgroup, value, column))
        pos = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, names: Names):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.names = names
        self.depth = 0
        self.entities = {
            _ACTOR: names.actors, _BLOC: names.blocs, _SITE: names.sites,
            _EVENT: names.events, _ATTR: names.attributes,
        }

    # helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str) -> _Token:
        if self.tok.text != text or self.tok.kind == "name":
            raise ExpressionError(f"expected '{text}', found {self._describe(self.tok)}", self.tok.column)
        return self.take()

    @staticmethod
    def _describe(tok: _Token) -> str:
        return "end of text" if tok.kind == "end" else f"'{tok.text}'"

    def need(self, node, wanted: str, column: int):
        if node.type != wanted:
            raise ExpressionError(f"expected a {wanted} expression, found a {node.type}", column)
        return node

    # grammar
    def parse(self) -> object:
        node = self.or_()
        if self.tok.kind != "end":
            raise ExpressionError(f"unexpected {self._describe(self.tok)}", self.tok.column)
        return node

    def _logic(self, word: str, lower) -> object:
        column = self.tok.column
        node = lower()
        while self.tok.kind == "name" and self.tok.text == word:
            op_col = self.take().column
            right = lower()
            self.need(node, BOOL, column)
            self.need(right, BOOL, op_col + len(word) + 1)
            node = Binary(word, node, right, BOOL)
        return node

    def or_(self):
        return self._logic("or", self.and_)

    def and_(self):
        return self._logic("and", self.not_)

    def not_(self):
        if self.tok.kind == "name" and self.tok.text == "not":
            self.take()
            column = self.tok.column
            with self.nested(column):
                return Unary("not", self.need(self.not_(), BOOL, column), BOOL)
        return self.compare()

    @contextlib.contextmanager
    def nested(self, column: int):
        """Count one more level of nesting: the parser recurses, so depth is bounded, never a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nesting deeper than {MAX_DEPTH} levels", column)
        try:
            yield
        finally:
            self.depth -= 1

    def compare(self):
        column = self.tok.column
        left = self.sum_()
        if self.tok.kind == "op" and self.tok.text in ("<", "<=", ">", ">=", "==", "!="):
            op = self.take().text
            right_col = self.tok.column
            right = self.sum_()
            if self.tok.kind == "op" and self.tok.text in ("<", "<=", ">", ">=", "==", "!="):
                raise ExpressionError("chained comparisons are not supported; join them with 'and'", self.tok.column)
            if op in ("==", "!=") and left.type == right.type == BOOL:
                return Binary(op, left, right, BOOL)
            self.need(left, NUMBER, column)
            self.need(right, NUMBER, right_col)
            return Binary(op, left, right, BOOL)
        return left

    def _arith(self, ops: tuple[str, ...], lower):
        column = self.tok.column
        node = lower()
        while self.tok.kind == "op" and self.tok.text in ops:
            op = self.take().text
            right_col = self.tok.column
            right = lower()
            self.need(node, NUMBER, column)
            self.need(right, NUMBER, right_col)
            node = Binary(op, node, right, NUMBER)
        return node

    def sum_(self):
        return self._arith(("+", "-"), self.term)

    def term(self):
        return self._arith(("*", "/"), self.unary)

    def unary(self):
        if self.tok.kind == "op" and self.tok.text == "-":
            self.take()
            column = self.tok.column
            with self.nested(column):
                return Unary("-", self.need(self.unary(), NUMBER, column), NUMBER)
        return self.atom()

    def atom(self):
        tok = self.tok
        if tok.kind == "number":
            self.take()
            value = float(tok.text)
            if not math.isfinite(value):
                raise ExpressionError(f"number {tok.text} is out of range", tok.column)
            return Num(value)
        if tok.kind == "op" and tok.text == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError(f"nesting deeper than {MAX_DEPTH} levels", tok.column)
            node = self.or_()
            self.depth -= 1
            self.expect(")")
            return node
        if tok.kind == "name":
            self.take()
            if tok.text in ("true", "false"):
                return Bool(tok.text == "true")
            if tok.text == "step":
                return Step()
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(tok)
            if tok.text in self.names.parameters:
                return Param(tok.text)
            if tok.text in FUNCTIONS:
                raise ExpressionError(f"function '{tok.text}' needs arguments in parentheses", tok.column)
            raise ExpressionError(
                f"unknown name '{tok.text}'; expected a parameter, 'step', 'true' or 'false'"
                + did_you_mean(tok.text, self.names.parameters), tok.column)
        raise ExpressionError(f"unexpected {self._describe(tok)}", tok.column)

    def call(self, name_tok: _Token):
        if name_tok.text not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function '{name_tok.text}'; expected one of {', '.join(FUNCTIONS)}"
                + did_you_mean(name_tok.text, FUNCTIONS), name_tok.column)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nesting deeper than {MAX_DEPTH} levels", name_tok.column)
        self.expect("(")
        raw_args: list[tuple[_Token, object | None]] = []
        if not (self.tok.kind == "op" and self.tok.text == ")"):
            while True:
                raw_args.append(self.argument())
                if self.tok.kind == "op" and self.tok.text == ",":
                    self.take()
                    continue
                break
        self.expect(")")
        self.depth -= 1
        signatures = FUNCTIONS[name_tok.text]
        for kinds, result in signatures:
            if len(kinds) == len(raw_args):
                args = tuple(self.check_arg(name_tok.text, k, a) for k, a in zip(kinds, raw_args))
                return Call(name_tok.text, args, result)
        counts = " or ".join(str(len(k)) for k, _ in signatures)
        raise ExpressionError(
            f"{name_tok.text}() takes {counts} argument(s), found {len(raw_args)}", name_tok.column)

    def argument(self) -> tuple[_Token, object | None]:
        """A bare name is kept as a token (it may be an entity); anything else is parsed."""
        tok = self.tok
        nxt = self.tokens[min(self.pos + 1, len(self.tokens) - 1)]  # (the last token is "end")
        if tok.kind == "name" and tok.text not in _KEYWORDS and not (nxt.kind == "op" and nxt.text == "("):
            if nxt.kind == "end" or (nxt.kind == "op" and nxt.text in (",", ")")):
                self.take()
                return tok, None
        return tok, self.or_()

    def check_arg(self, func: str, kind, arg: tuple[_Token, object | None]):
        tok, node = arg
        if kind == NUMBER:
            if node is None:  # a bare name: a parameter
                if tok.text in self.names.parameters:
                    return Param(tok.text)
                raise ExpressionError(
                    f"unknown parameter '{tok.text}' in {func}()" + did_you_mean(tok.text, self.names.parameters),
                    tok.column)
            return self.need(node, NUMBER, tok.column)
        if node is not None:
            raise ExpressionError(f"{func}() expects {' or '.join(kind)} id here, found an expression", tok.column)
        for entity in kind:
            if tok.text in self.entities[entity]:
                return Ref(entity, tok.text)
        known = [n for entity in kind for n in self.entities[entity]]
        raise ExpressionError(
            f"unknown {' or '.join(kind)} '{tok.text}' in {func}()" + did_you_mean(tok.text, known), tok.column)


@functools.lru_cache(maxsize=8192)  # pure, and its result frozen: a sweep builds one scenario per point
def parse_expression(text: str, names: Names) -> Expression:
    """Parse and check `text`; raises ExpressionError naming the column of the first problem."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("empty expression", 1)
    root = _Parser(text, names).parse()
    if _tree_depth(root) > MAX_TREE:
        raise ExpressionError(f"more than {MAX_TREE} operations inside one another (a sum or product of more "
                              f"than {MAX_TREE} terms?): write it shorter", 1)
    return Expression(text, root)


def _tree_depth(root) -> int:
    """Depth of the tree, without recursion (it is checked before anything recursive walks it)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Binary):
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, Unary):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, Call):
            stack += [(arg, depth + 1) for arg in node.args]
    return deepest
