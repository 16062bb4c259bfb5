"""R6.1: identity-number, name and phone validation with the public worked examples."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from identity.idnumber import mask_id_number, mask_phone, parse_id_number, parse_mobile, parse_real_name

TODAY = datetime.date(2026, 11, 28)
GOOD = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("value", GOOD)
def test_public_examples_r6_1_are_valid(value):
    parsed = parse_id_number(value, today=TODAY)
    assert parsed.value == value


def test_full_width_spaces_and_lowercase_x_are_accepted():
    assert parse_id_number(" １１０１０５ １９４９１２３１００２ｘ ", today=TODAY).value == GOOD[0]
    assert parse_id_number("11010519491231002x", today=TODAY).value == GOOD[0]
    assert parse_id_number("110105\u200b19491231002X", today=TODAY).value == GOOD[0]


@pytest.mark.parametrize("value", GOOD)
def test_every_one_character_corruption_r6_1_is_refused(value):
    for position in range(18):
        for replacement in "0123456789X":
            if replacement == value[position]:
                continue
            corrupt = value[:position] + replacement + value[position + 1 :]
            with pytest.raises(ValidationError):
                parse_id_number(corrupt, today=TODAY)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_check"),
        ("110105194902300029", "id_birth_date"),  # 30 February
        ("110105203001010011", "id_birth_date"),  # in the future
        ("000105194912310021", "id_province"),
        ("960105194912310021", "id_check"),  # a leading 9: permanent residence ID, province not checked
        ("10010519491231002X", "id_province"),
        ("110105491231002", "id_legacy_15"),
        ("1101051949123100", "id_format"),
        ("11010519491231002Y", "id_format"),
        ("", "id_format"),
        ("\ud800" * 18, "id_format"),
        ("1" * 10000, "id_format"),
    ],
)
def test_bad_numbers_are_refused_with_their_code(value, code):
    with pytest.raises(ValidationError) as info:
        parse_id_number(value, today=TODAY)
    assert info.value.code == code


def test_masking_shows_four_and_four():
    assert mask_id_number(GOOD[0]) == "1101**********002X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "name_empty"),
        ("张\x00三", "name_invalid"),
        ("a\ud800", "name_invalid"),
        ("张" * 51, "name_too_long"),
        ("<script>", "name_invalid"),
    ],
)
def test_bad_real_names_are_refused(raw, code):
    with pytest.raises(ValidationError) as info:
        parse_real_name(raw)
    assert info.value.code == code


def test_real_names_with_separator_are_accepted():
    assert parse_real_name(" 买买提·艾力 ") == "买买提·艾力"


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "１３８００１３８０００", "138-0013-8000"]
)
def test_mainland_mobiles_are_stored_as_e164(raw):
    assert parse_mobile(raw) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1440123456789", "phone_invalid"),
        ("14012345678901", "phone_invalid"),
        ("12345", "phone_invalid"),
        ("01062345678", "phone_not_mobile"),
        ("+12025550123", "phone_invalid"),
        ("x" * 1000, "phone_invalid"),
        ("", "phone_invalid"),
    ],
)
def test_iot_landline_foreign_and_junk_numbers_are_refused(raw, code):
    with pytest.raises(ValidationError) as info:
        parse_mobile(raw)
    assert info.value.code == code


def test_phone_mask():
    assert mask_phone("+8613800138000") == "138****8000"
