"""The one module that speaks HTCondor's ClassAd language, through htcondor's own `classad2`
bindings: expressions people type are checked here before anything stores or evaluates them,
ads are built here, and an expression is evaluated here against a pair of ads.

Why the checks: an expression comes from a stranger (a pool operator's Requirements, a buyer's
advanced box) and is evaluated against thousands of ads on every request. So it is short, not
deeply nested, calls only functions whose cost is bounded by their (short) arguments and whose
value depends on the ads alone (no `time()`, no `random()`, no `regexp()` whose backtracking
has no bound, no `eval()` of a string built at run time), and names only attributes one of
the two ads has: a misspelt attribute would otherwise make every match silently UNDEFINED.
Within those bounds the language has no loops, so an evaluation takes microseconds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

import classad2

MAX_CHARS = 1000
MAX_NESTING = 12
MAX_CLAUSES = 40

# Functions an expression may call: pure, and bounded by their arguments' size.
FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "member",
        "identicalMember",
        "anyCompare",
        "allCompare",
        "stringListMember",
        "stringListIMember",
        "stringListSize",
        "strcmp",
        "stricmp",
        "toLower",
        "toUpper",
        "size",
        "substr",
        "strcat",
        "ifThenElse",
        "isUndefined",
        "isError",
        "isString",
        "isInteger",
        "isReal",
        "isBoolean",
        "isList",
        "int",
        "real",
        "string",
        "floor",
        "ceiling",
        "round",
        "pow",
        "quantize",
        "sum",
        "avg",
        "min",
        "max",
    )
)

# A name right before an opening parenthesis: a function call.
_IDENTIFIER_BEFORE = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\s*\Z")
_TOKENS = {
    "LEX_CLOSE_PAREN": "“)”",
    "LEX_OPEN_PAREN": "“(”",
    "LEX_CLOSE_BOX": "the end of the expression",
    "LEX_SEMICOLON": "the end of the expression",
    "LEX_BOUND_TO": "“=” (compare with “==”)",
    "LEX_END_OF_INPUT": "the end of the expression",
    "LEX_COMMA": "“,”",
}


class ExpressionRefused(ValueError):
    """An expression this site will not store or evaluate; the message says why, in words."""


@dataclasses.dataclass(frozen=True)
class Expression:
    """A checked expression: its text as the parser prints it back, the parsed tree, and the
    attributes it reads from its own ad (`mine`) and from the other one (`theirs`), by their
    lower-case names. An unqualified name is read from whichever ad has it (own first)."""

    text: str
    tree: Any
    mine: frozenset[str]
    theirs: frozenset[str]

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class _Scan:
    nesting: int
    functions: frozenset[str]
    clauses: list[str]


def _scan(text: str) -> _Scan:
    """Walk the text once outside string literals: the deepest nesting of brackets, the
    functions called, and the top-level `&&` clauses. Refuses unbalanced brackets and
    unterminated strings with where they are."""
    depth = deepest = 0
    opened: list[tuple[str, int]] = []
    functions: set[str] = set()
    clauses: list[str] = []
    start = i = 0
    closing = {")": "(", "]": "[", "}": "{"}
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise ExpressionRefused(
                    f'The string that starts at character {i + 1} never ends: close it with “"”.'
                )
            i = end + 1
            continue
        if char in "([{":
            if char == "(":
                name = _IDENTIFIER_BEFORE.search(text, 0, i)
                if name:
                    functions.add(name.group(1).lower())
            opened.append((char, i))
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            if not opened or opened[-1][0] != closing[char]:
                raise ExpressionRefused(
                    f"The “{char}” at character {i + 1} closes nothing: remove it or open it."
                )
            opened.pop()
            depth -= 1
        elif char == "&" and text.startswith("&&", i) and depth == 0:
            clauses.append(text[start:i].strip())
            start = i + 2
            i += 2
            continue
        i += 1
    if opened:
        char, where = opened[-1]
        raise ExpressionRefused(
            f"The “{char}” at character {where + 1} is never closed: add its closing bracket."
        )
    clauses.append(text[start:].strip())
    return _Scan(deepest, frozenset(functions), clauses)


def _parser_message(text: str, before: str) -> str:
    """The parser's own complaint, in words (the bindings keep only the latest one: `before`
    is what it said until now, so that a stale complaint is never shown)."""
    said = classad2.lastError()
    if said and said != before:
        for token, words in _TOKENS.items():
            said = said.replace(token, words)
        said = said.replace("exptected", "expected").replace("while parsing classad:", "")
        said = said.replace(" or the end of the expression", "")
        return " ".join(said.split())
    if text.rstrip()[-1:] in "=<>!&|+-*/%?:":
        return "it ends with an operator that has nothing on its right"
    return "it does not read as a ClassAd expression"


def _refs(tree: Any) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The attributes `tree` reads: (own ad's, other ad's, unqualified), each by its
    lower-case name to the name as written."""
    mine: dict[str, str] = {}
    theirs: dict[str, str] = {}
    bare: dict[str, str] = {}
    for ref in classad2.ClassAd().externalRefs(tree):
        if not ref:
            continue
        parts = ref.split(".")
        scope = parts[0].lower()
        if scope == "my" and len(parts) > 1:
            mine[parts[1].lower()] = parts[1]
        elif scope == "target" and len(parts) > 1:
            theirs[parts[1].lower()] = parts[1]
        else:
            bare[parts[0].lower()] = parts[0]
    return mine, theirs, bare


def _listed(names: dict[str, str], unknown: set[str]) -> str:
    return ", ".join(sorted(names[name] for name in unknown))


def parse(
    text: object,
    *,
    own: Iterable[str],
    other: Iterable[str],
    own_name: str = "this ad",
    other_name: str = "the other ad",
) -> Expression:
    """Check and parse `text`, an expression evaluated in an ad with the attributes `own`
    against one with `other`. Raises ExpressionRefused saying what is wrong and what to do."""
    if not isinstance(text, str):
        raise ExpressionRefused("An expression is text.")
    text = text.strip()
    if not text:
        raise ExpressionRefused("The expression is empty.")
    if len(text) > MAX_CHARS:
        raise ExpressionRefused(
            f"The expression has {len(text)} characters; at most {MAX_CHARS} are accepted."
        )
    if "\x00" in text:
        raise ExpressionRefused("The expression holds a NUL character.")
    scan = _scan(text)
    if scan.nesting > MAX_NESTING:
        raise ExpressionRefused(
            f"The expression nests brackets {scan.nesting} deep; at most {MAX_NESTING} levels "
            "are accepted."
        )
    if len(scan.clauses) > MAX_CLAUSES:
        raise ExpressionRefused(
            f"The expression joins {len(scan.clauses)} conditions with &&; at most "
            f"{MAX_CLAUSES} are accepted."
        )
    unknown = sorted(scan.functions - FUNCTIONS)
    if unknown:
        raise ExpressionRefused(
            f"The function{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} cannot be used "
            "here (only functions whose value depends on the two ads alone), such as "
            "member, stringListMember, ifThenElse, isUndefined, toLower, size."
        )
    before = classad2.lastError()
    try:
        tree = classad2.ExprTree(text)
    except classad2.ClassAdException:
        raise ExpressionRefused(
            f"Not a ClassAd expression: {_parser_message(text, before)}."
        ) from None
    mine, theirs, bare = _refs(tree)
    own_names = {name.lower() for name in own}
    other_names = {name.lower() for name in other}
    problems = []
    if unknown_mine := mine.keys() - own_names:
        problems.append(f"{own_name} has no {_listed(mine, unknown_mine)}")
    if unknown_theirs := theirs.keys() - other_names:
        problems.append(f"{other_name} has no {_listed(theirs, unknown_theirs)}")
    if unknown_bare := bare.keys() - own_names - other_names:
        problems.append(
            f"neither ad has {_listed(bare, unknown_bare)} (text goes in double quotes, as in "
            '"eu-west")'
        )
    if problems:
        raise ExpressionRefused(
            f"The expression reads attributes that do not exist: {'; '.join(problems)}. "
            f"{own_name.capitalize()} has {', '.join(sorted(own))}; {other_name} has "
            f"{', '.join(sorted(other))}."
        )
    resolved_mine = mine.keys() | (bare.keys() & own_names)
    resolved_theirs = theirs.keys() | (bare.keys() - own_names)
    return Expression(str(tree), tree, frozenset(resolved_mine), frozenset(resolved_theirs))


CONDITION, NUMBER = "condition", "number"
_WHAT = {CONDITION: "A requirement is a condition, true or false", NUMBER: "A rank is a number"}
_EXAMPLE = {
    CONDITION: "compare an attribute, as in TARGET.Cores >= 4",
    NUMBER: "compute one from the other ad, as in TARGET.Volume",
}


def of_kind(
    expression: Expression,
    kind: str,
    *,
    samples: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]] = (),
) -> Expression:
    """`expression` if its value can be of `kind` (CONDITION: true or false, as Requirements;
    NUMBER: as Rank), else ExpressionRefused saying what it gives instead.

    What it gives before any attribute is read tells first: `"yes"`, `false` (as a condition:
    it would match nothing), `UNDEFINED` and `"a" + 1` are refused whatever the ads. One that
    reads the ads is then tried on `samples` (pairs of plausible attributes: this expression's
    own ad's, the other ad's): giving an ERROR on every pair (text compared with a number, say)
    or a value of the wrong kind on every pair, it is refused too. A value that is wrong only
    for some ads is not: real ads may differ."""
    value = expression.tree.eval()
    if value is classad2.Value.Error:
        raise ExpressionRefused(
            f"{_WHAT[kind]}, but this is an error whatever the ads hold (a value of one kind "
            f"used as another, such as text added to a number): {_EXAMPLE[kind]}."
        )
    reads = expression.mine or expression.theirs
    if value is classad2.Value.Undefined and not reads:
        raise ExpressionRefused(f"{_WHAT[kind]}, but this is always undefined: {_EXAMPLE[kind]}.")
    if not isinstance(value, classad2.Value):
        _check_value(value, kind, always=True)
        return expression
    tried = [evaluate(expression, ad(own), ad(other)) for own, other in samples]
    if tried and all(found is classad2.Value.Error for found in tried):
        raise ExpressionRefused(
            f"{_WHAT[kind]}, but this is an error for any ads: it uses a value of one kind as "
            "another (text compared with a number, a number where a list is needed...): compare "
            "each attribute with a value of its own kind."
        )
    if tried and not any(isinstance(found, classad2.Value) for found in tried):
        for found in tried:
            _check_value(found, kind, always=False)
    return expression


def _check_value(value: Any, kind: str, *, always: bool) -> None:
    """Refuse `value` if it is not of `kind` (`always`: whatever the ads; else for sample
    ads). A condition always false is refused too (it would match nothing); a rank that reads
    the ads may be true or false (HTCondor counts them 1 and 0)."""
    gives = f"is always {_shown(value)}" if always else f"gives {_shown(value)} and the like"
    if kind == CONDITION:
        if not isinstance(value, bool):
            raise ExpressionRefused(f"{_WHAT[kind]}, but this {gives}: {_EXAMPLE[kind]}.")
        if always and value is False:
            raise ExpressionRefused(
                "This requirement is always false: it would match nothing. Leave it empty to "
                "match everything, or compare an attribute, as in TARGET.Cores >= 4."
            )
    elif (always and isinstance(value, bool)) or not isinstance(value, int | float):
        raise ExpressionRefused(f"{_WHAT[kind]}, but this {gives}: {_EXAMPLE[kind]}.")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {classad2.quote(value)}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value:g}"
    return f"a {type(value).__name__}"


def clauses(expression: Expression, **names: Any) -> list[Expression]:
    """The top-level `&&` parts of a checked expression, each checked alone (the whole is True
    exactly when every part is). `names` are parse's own/other arguments."""
    parts = _scan(expression.text).clauses
    if len(parts) == 1:
        return [expression]
    return [parse(part, **names) for part in parts]


def all_of(expressions: Iterable[Expression]) -> Expression:
    """The conjunction of expressions already checked (built here, so not held to the limits
    on what one person types)."""
    parts = list(expressions)
    text = " && ".join(f"({part.text})" for part in parts)
    return Expression(
        text,
        classad2.ExprTree(text),
        frozenset().union(*(part.mine for part in parts)),
        frozenset().union(*(part.theirs for part in parts)),
    )


def literal(value: Any) -> str:
    """A Python value written as a ClassAd literal (a float round-trips exactly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return classad2.quote(value)
    if isinstance(value, list | tuple | set | frozenset):
        return "{" + ", ".join(literal(item) for item in value) + "}"
    raise TypeError(f"no ClassAd literal for {type(value).__name__}")


def ad(attributes: Mapping[str, Any], **expressions: Expression | None) -> Any:
    """A ClassAd of these attributes (None: left out, so it reads UNDEFINED) and expressions
    (Requirements, Rank...)."""
    built = classad2.ClassAd()
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            built[name] = classad2.ExprTree(literal(list(value)))
        else:
            built[name] = value
    for name, expression in expressions.items():
        if expression is not None:
            built[name] = expression.tree
    return built


def evaluate(expression: Expression, mine: Any, theirs: Any) -> Any:
    """The value of `expression` in ad `mine` matched against `theirs`: a Python value, or
    classad2.Value.Undefined / Error."""
    return expression.tree.eval(mine, theirs)


def holds(expression: Expression, mine: Any, theirs: Any) -> bool:
    """Whether `expression` is exactly True there (UNDEFINED and ERROR do not hold)."""
    return evaluate(expression, mine, theirs) is True


def symmetric_match(one: Any, other: Any) -> bool:
    """HTCondor's match: each ad's Requirements holds against the other."""
    return bool(one.symmetricMatch(other))


def rank(expression: Expression | None, mine: Any, theirs: Any) -> float:
    """A Rank expression's value as a number (0 when absent, UNDEFINED, ERROR or not a
    number, as HTCondor counts it)."""
    if expression is None:
        return 0.0
    value = evaluate(expression, mine, theirs)
    if isinstance(value, classad2.Value):  # UNDEFINED or ERROR (an IntEnum: not a number)
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return 0.0
