import re

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.privacy import mask_name, mask_text, mask_value

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID18 = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def test_examples():
    assert mask_text("电话13812345678") == "电话138****5678"
    assert mask_text("+86 138-1234-5678") == "+86 138****5678"
    assert mask_text("身份证44070319900101123X。") == "身份证440703********123X。"
    assert mask_text("0750-3501234") == "0750-***1234"
    assert mask_text("联系人：王小明，") == "联系人：王**，"
    assert mask_text("mail li.si@example.cn") == "mail l***@example.cn"
    assert mask_name("欧阳小明") == "欧***" and mask_name("John Smith") == "J*** S****"


def test_leaves_ids_and_times_alone():
    for s in ["SR2026112200012", "2026-11-22T09:30:00+08:00", "113.0812345,22.5812345", "工单 1700000000000"]:
        assert mask_text(s) == s


def test_mask_value_by_key():
    out = mask_value({"caller_name": "李四", "notes": ["回电13912345678"], "n": 3})
    assert out == {"caller_name": "李*", "notes": ["回电139****5678"], "n": 3}


digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


# a phone is delimited: digits glued on either side make a different number (an order id, a time)
delimited_prefix = st.text(max_size=20).filter(lambda s: not s[-1:].isdigit())
delimited_suffix = st.text(max_size=20).filter(lambda s: not s[:1].isdigit())


@settings(max_examples=200)
@given(prefix=delimited_prefix, suffix=delimited_suffix, body=digits, second=st.sampled_from("3456789"))
def test_no_mobile_survives(prefix, suffix, body, second):
    phone = f"1{second}{body}"
    out = mask_text(f"{prefix}{phone}{suffix}")
    assert phone not in out


@settings(max_examples=200)
@given(prefix=st.text(max_size=20), suffix=st.text(max_size=20),
       id_no=st.from_regex(r"\A[1-8]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d)\d{3}[\dX]\Z"))
def test_no_id_number_survives(prefix, suffix, id_no):
    out = mask_text(f"{prefix} {id_no} {suffix}")
    assert id_no not in out
