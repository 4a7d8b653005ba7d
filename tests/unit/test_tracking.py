"""Tracking numbers (YYMMDD-NNNNNNN-C, Damm check digit) and query codes."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.domain.tracking import (
    QUERY_ALPHABET, QUERY_CODE_LENGTH, damm, format_tracking_number, new_query_code,
    new_tracking_number, normalize_query_code, normalize_tracking_number,
)

SHAPE = re.compile(r"^\d{6}-\d{7}-\d$")
DAY = datetime(2026, 11, 16, 10, 0)


def _number(body13: str) -> str:
    return format_tracking_number(body13 + str(damm(body13)))


# a few valid numbers, including ones with repeated and zero digits
SAMPLES = [
    new_tracking_number(DAY, rand=lambda n: 1234567),
    new_tracking_number(datetime(2024, 2, 29), rand=lambda n: 0),
    new_tracking_number(datetime(2031, 12, 31), rand=lambda n: n - 1),
    _number("2501019090909"),
]


def test_damm_reference_values():
    # the worked example of the Damm algorithm: the check digit of 572 is 4
    assert damm("572") == 4
    assert damm("5724") == 0
    assert damm("") == 0
    assert damm("0") == 0


def test_new_number_shape_and_parts():
    number = new_tracking_number(DAY, rand=lambda n: 1234567)
    assert SHAPE.match(number)
    assert number.startswith("261116-1234567-")
    assert damm(number.replace("-", "")) == 0


def test_new_number_pads_the_random_part_and_asks_for_seven_digits():
    asked = []

    def rand(n):
        asked.append(n)
        return 42

    number = new_tracking_number(datetime(2025, 1, 2), rand=rand)
    assert number.startswith("250102-0000042-")
    assert asked == [10_000_000]


@pytest.mark.parametrize("number", SAMPLES)
def test_samples_validate(number):
    assert SHAPE.match(number)
    assert normalize_tracking_number(number) == number


def test_default_random_numbers_validate_and_differ():
    numbers = {new_tracking_number(DAY) for _ in range(50)}
    assert len(numbers) > 1
    for number in numbers:
        assert number.startswith("261116-")
        assert normalize_tracking_number(number) == number


def _digits(number: str) -> str:
    return number.replace("-", "")


def _substitutions(digits: str):
    for i, d in enumerate(digits):
        for other in "0123456789":
            if other != d:
                yield digits[:i] + other + digits[i + 1:]


def _transpositions(digits: str):
    for i in range(len(digits) - 1):
        if digits[i] != digits[i + 1]:
            yield digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]


@pytest.mark.parametrize("number", SAMPLES)
def test_every_single_digit_substitution_is_rejected(number):
    wrong = list(_substitutions(_digits(number)))
    assert len(wrong) == 14 * 9
    accepted = [w for w in wrong if normalize_tracking_number(w) is not None]
    assert accepted == []


@pytest.mark.parametrize("number", SAMPLES)
def test_every_adjacent_transposition_is_rejected(number):
    wrong = list(_transpositions(_digits(number)))
    assert wrong   # the samples have distinct neighbours somewhere
    accepted = [w for w in wrong if normalize_tracking_number(format_tracking_number(w)) is not None]
    assert accepted == []


@settings(max_examples=200, deadline=None)
@given(body=st.text("0123456789", min_size=13, max_size=13), pos=st.integers(0, 13),
       new=st.sampled_from("0123456789"))
def test_property_single_substitution(body, pos, new):
    digits = _digits(_number(body))
    assert normalize_tracking_number(digits) == format_tracking_number(digits)
    assume(digits[pos] != new)
    assert normalize_tracking_number(digits[:pos] + new + digits[pos + 1:]) is None


@settings(max_examples=200, deadline=None)
@given(body=st.text("0123456789", min_size=13, max_size=13), pos=st.integers(0, 12))
def test_property_adjacent_transposition(body, pos):
    digits = _digits(_number(body))
    assume(digits[pos] != digits[pos + 1])
    swapped = digits[:pos] + digits[pos + 1] + digits[pos] + digits[pos + 2:]
    assert normalize_tracking_number(swapped) is None


@pytest.mark.parametrize("form", [
    "{a}-{b}-{c}",
    "{a}{b}{c}",
    " {a} {b} {c} ",
    "{a} - {b} - {c}",
    "{a}－{b}－{c}",      # full-width hyphen
    "{a}—{b}—{c}",        # em dash
    "{a}_{b}_{c}",
    "\t{a}\n{b}{c}\u3000",  # tab, newline, ideographic space
])
def test_separators_and_spaces_are_accepted(form):
    number = SAMPLES[0]
    a, b, c = number.split("-")
    assert normalize_tracking_number(form.format(a=a, b=b, c=c)) == number


def test_full_width_digits_are_accepted():
    number = SAMPLES[0]
    full = number.translate({ord("0") + i: 0xFF10 + i for i in range(10)})
    assert full != number
    assert normalize_tracking_number(full) == number
    assert normalize_tracking_number(full.replace("-", "")) == number


def test_other_unicode_digits_are_rejected():
    arabic_indic = _digits(SAMPLES[0]).translate({ord("0") + i: 0x0660 + i for i in range(10)})
    assert arabic_indic.isdigit()
    assert normalize_tracking_number(arabic_indic) is None


@pytest.mark.parametrize("text", [None, "", "   ", "-", "--"])
def test_empty_is_rejected(text):
    assert normalize_tracking_number(text) is None


def test_wrong_length_is_rejected_even_when_the_check_digit_holds():
    digits = _digits(SAMPLES[0])
    # a leading or trailing 0 keeps the Damm sum at 0: only the length check stops these
    assert damm("0" + digits) == 0 and damm(digits + "0") == 0
    assert normalize_tracking_number("0" + digits) is None
    assert normalize_tracking_number(digits + "0") is None
    assert normalize_tracking_number(digits[:-1]) is None
    assert normalize_tracking_number(digits[:13]) is None
    assert normalize_tracking_number("0" * 13) is None   # damm 0, 13 digits


def test_letters_are_rejected():
    digits = _digits(SAMPLES[0])
    assert normalize_tracking_number(digits[:7] + "A" + digits[8:]) is None
    assert normalize_tracking_number("ABCDEF-GHIJKLM-N") is None
    assert normalize_tracking_number(digits + "X") is None
    assert normalize_tracking_number("No." + digits) is None


def test_format_tracking_number():
    assert format_tracking_number("26111612345678") == "261116-1234567-8"


# --- query codes -------------------------------------------------------------------

def test_query_alphabet_avoids_confusable_characters():
    for ch in "01OIL":
        assert ch not in QUERY_ALPHABET
    assert QUERY_ALPHABET == QUERY_ALPHABET.upper()
    assert len(set(QUERY_ALPHABET)) == len(QUERY_ALPHABET) == 31
    assert QUERY_CODE_LENGTH == 6


def test_new_query_codes():
    codes = [new_query_code() for _ in range(300)]
    for code in codes:
        assert len(code) == 6
        assert set(code) <= set(QUERY_ALPHABET)
        assert normalize_query_code(code) == code
    assert len(set(codes)) > 290
    assert set("".join(codes)) == set(QUERY_ALPHABET)   # 1800 draws from 31 symbols reach them all


def test_new_query_code_draws_from_the_alphabet():
    seen = []

    def choice(alphabet):
        seen.append(alphabet)
        return alphabet[len(seen) - 1]

    assert new_query_code(choice) == QUERY_ALPHABET[:6]
    assert seen == [QUERY_ALPHABET] * 6


@pytest.mark.parametrize(("text", "expected"), [
    ("abc23d", "ABC23D"),
    (" ab c2 3d ", "ABC23D"),
    ("AbC\t23\nD", "ABC23D"),
    ("ABC23D", "ABC23D"),
    ("", ""),
    (None, ""),
])
def test_normalize_query_code(text, expected):
    assert normalize_query_code(text) == expected
