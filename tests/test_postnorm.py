import pytest
from transnorm.postnorm import english_punctuation, join_space, trailing_space


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Hello，world。", "Hello, world."),
        ("《China Newsweek》said", "“China Newsweek”said"),
        ("（NATO）summit", "(NATO)summit"),
        ("Done..", "Done."),
        ("Why?.", "Why?"),
        ("Wait...", "Wait..."),
        ("U.S. officials", "U.S. officials"),
        ("ＡＢＣ１２３", "ABC123"),
        ("word ,word", "word, word"),
        ("a——b", "a—b"),
    ],
)
def test_english_punctuation(raw, expected):
    assert english_punctuation(raw) == expected


def test_spacing_at_joins():
    assert join_space("said.", "He left.") == " "
    assert join_space("said.\n", "He left.") == ""
    assert join_space("(", "He") == ""
    assert join_space("word", ", then") == ""
    assert trailing_space("Newsweek”", "that") == " "
    assert trailing_space("Newsweek”", ", that") == ""
