import pytest

from sim.scenario.expressions import ExpressionError, Names, parse_expression

NAMES = Names(actors=("niger", "us", "russia"), blocs=("west",), sites=("airbase_101",), events=("coup",),
              attributes=("stability",), parameters=("threshold",))


def error_of(text: str) -> str:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, NAMES)
    return str(info.value)


def test_the_issue_example_parses_as_a_condition():
    expr = parse_expression("relation(niger, us) < -0.4 and presence(russia, niger) > 0 and fired(coup)", NAMES)
    assert expr.type == "bool"


def test_numbers_parameters_and_functions_type_check():
    assert parse_expression("max(0, -relation(niger, west)) * threshold + step / 2", NAMES).type == "number"
    assert parse_expression("not same_camp(us, russia) or since(coup) >= 3", NAMES).type == "bool"


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('rm -rf /')", "unexpected character \"'\" at column 12"),
    ("__import__(os)", "unknown function '__import__'; expected one of relation, alignment, attr, presence, "
                       "planned_presence, fired, times_fired, since, same_camp, abs, exp, min, max at column 1"),
    ("niger.__class__", "unexpected character '.' at column 6"),
    ("9**9**9", "'**' (power) is not supported at column 2"),
    ("1e999 > 0", "number 1e999 is out of range at column 1"),
    ("relation(nigerr, us) > 0", "unknown actor 'nigerr' in relation() (did you mean 'niger'?) at column 10"),
    ("fired(cop)", "unknown event 'cop' in fired() (did you mean 'coup'?) at column 7"),
    ("presence(us)(1)", "unexpected '(' at column 13"),
    ("1 < 2 < 3", "chained comparisons are not supported; join them with 'and' at column 7"),
    ("fired(coup) + 1", "expected a number expression, found a bool at column 1"),
    ("relation(niger)", "relation() takes 2 argument(s), found 1 at column 1"),
    ("thresold > 1", "unknown name 'thresold'; expected a parameter, 'step', 'true' or 'false' "
                     "(did you mean 'threshold'?) at column 1"),
    ("lambda: 1", "unexpected character ':' at column 7"),
    ("(" * 50 + "1" + ")" * 50, "nesting deeper than 40 levels at column 41"),
    ("", "empty expression at column 1"),
])
def test_bad_and_hostile_text_is_rejected_with_its_column(text, message):
    assert error_of(text) == message


def test_overlong_text_is_rejected():
    assert error_of("1 + " * 600 + "1").startswith("expression longer than 2000 characters")
