"""Masking of phones and names (脱敏)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.privacy import erase, mask_name, mask_phone, phone_tail


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),          # mobile
    ("138 1234 5678", "138****5678"),
    ("138-1234-5678", "138****5678"),
    ("010-87654321", "010****4321"),         # landline with area code
    ("0755-12345678", "075*****5678"),
    ("87654321", "876*4321"),                # 8-digit landline
    ("1234567", "***4567"),                  # 7 digits: the head is hidden too
    ("123456", "******"),                    # short: nothing shown
    ("12", "**"),
    ("", ""),
    (None, ""),
    ("---", ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@settings(max_examples=300, deadline=None)
@given(digits=st.text("0123456789", min_size=1, max_size=20))
def test_masked_phone_never_shows_the_middle(digits):
    masked = mask_phone(digits)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]                  # E.164 without "+": the national number is masked
    assert len(masked) == len(digits)
    if len(digits) < 7:
        assert set(masked) == {"*"}
    elif len(digits) == 7:
        assert masked == "***" + digits[-4:]
    else:
        assert masked[:3] == digits[:3]
        assert masked[-4:] == digits[-4:]
        assert set(masked[3:-4]) == {"*"}
    # at most 7 digits are ever shown
    assert sum(ch.isdigit() for ch in masked) <= 7


def test_e164_phones_are_masked_as_national_numbers():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("8613812345678") == "138****5678"


def test_masked_mobile_hides_the_middle_four():
    masked = mask_phone("13899990000")
    assert "9999" not in masked
    assert masked == "138****0000"


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"),
    ("欧阳娜娜", "欧***"),
    ("王", "王*"),                 # even a one-character name gets a star
    ("  李四 ", "李*"),
    ("张John", "张****"),
    ("John Smith", "J***"),
    ("Li", "L***"),               # ASCII: fixed number of stars, length not revealed
    ("A", "A***"),
    ("", ""),
    ("   ", ""),
    (None, ""),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@settings(max_examples=200, deadline=None)
@given(name=st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=6))
def test_chinese_names_keep_only_the_first_character(name):
    masked = mask_name(name)
    assert masked[0] == name[0]
    assert set(masked[1:]) == {"*"}
    assert len(masked) == max(2, len(name))


@pytest.mark.parametrize(("phone", "tail"), [
    ("13812345678", "5678"),
    ("138-1234-5678", "5678"),
    ("+86 138 1234 5678", "5678"),
    ("12", "12"),
    ("", ""),
    (None, ""),
])
def test_phone_tail(phone, tail):
    assert phone_tail(phone) == tail


@pytest.mark.parametrize(("text", "erased"), [
    ("电话 139 8765 4321，邮箱 a.b@example.com", "电话 ***，邮箱 ***"),
    ("+86 139-8765-4321 或 8613987654321", "*** 或 ***"),             # with the country code
    ("座机 010-62345678、(010)62345678、0755 12345678", "座机 ***、***、***"),
    ("身份证 11010519800101123X", "身份证 ***"),
    ("2024-05-01 起罚款 5000000 元，20240501 号文", "2024-05-01 起罚款 5000000 元，20240501 号文"),  # kept
    ("订单 139876543210123", "订单 139876543210123"),                # longer than a phone: not one
    ("我是欧阳秀英", "我是欧***"),
])
def test_erase_keeps_dates_and_amounts_but_not_the_citizen(text, erased):
    assert erase(text, ("欧阳秀英",)) == erased


def test_erase_takes_the_citizens_own_phone_in_any_grouping():
    assert erase("请拨 8765 4321 或 87-65-43-21", (), ("+86 10 8765 4321",)) == "请拨 8765 4321 或 87-65-43-21"
    assert erase("请拨 8765 4321 或 87-65-43-21", (), ("87654321",)) == "请拨 *** 或 ***"
    assert erase("无", (), ("", "12")) == "无"                           # no phone, or too short to be one


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from(["13", "15", "18", "19"]), rest=st.text("0123456789", min_size=9, max_size=9),
       sep=st.sampled_from(["", " ", "-"]))
def test_no_mobile_number_survives_erase(prefix, rest, sep):
    number = prefix + rest
    written = sep.join([number[:3], number[3:7], number[7:]])
    assert number[3:] not in erase(f"联系{written}。").replace(sep, "")
