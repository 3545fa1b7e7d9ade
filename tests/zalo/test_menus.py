"""Numbered choices: how a reply is shown on Zalo, and what a typed answer stands for."""

from __future__ import annotations

from domain.conversation import Action, Reply
from domain.i18n import translator_for
from zalo.menus import Menu, render

T = translator_for("vi")
BY_NUMBER = T("reply with the number")


def test_yes_no_question_is_numbered_like_the_domain_reads_it() -> None:
    reply = Reply(
        "Có kiện toàn Ban không?",
        title="Câu 3/29",
        actions=(
            (Action("Có", "o:yes"), Action("Không", "o:no")),
            (Action("« Quay lại", "back"), Action("Bỏ qua »", "skip")),
        ),
        step=7,
    )
    shown = render(reply, T)
    assert shown.text.startswith("Câu 3/29\nCó kiện toàn Ban không?\n\n")
    assert f"1. Có  2. Không — {BY_NUMBER}" in shown.text
    assert T("Type “back” to go to the previous question.") in shown.text
    assert shown.menu is not None and shown.menu.question and shown.menu.step == 7
    assert getattr(shown.menu.match("bo qua"), "code", None) == "skip"


def test_none_option_of_a_typed_question_is_a_word_not_a_number() -> None:
    reply = Reply(
        "Ngày lễ phát động?",
        actions=((Action("Không tổ chức", "o:none"),),),
        step=3,
    )
    shown = render(reply, T)
    assert "1." not in shown.text
    assert T("Or type “{label}”.", label="Không tổ chức") in shown.text
    assert shown.menu is not None
    assert shown.menu.match("1") is None  # "1" is a date or a count here, never a press
    assert shown.menu.match("khong to chuc") is not None


def test_none_option_of_a_choice_comes_after_the_choices() -> None:
    reply = Reply(
        "Hình thức?",
        actions=(
            (Action("Trực tiếp", "o:1"),),
            (Action("Trực tuyến", "o:2"),),
            (Action("Không có", "o:none"),),
        ),
        step=1,
    )
    shown = render(reply, T)
    assert f"1. Trực tiếp  2. Trực tuyến  3. Không có — {BY_NUMBER}" in shown.text
    assert shown.menu is not None
    entry = shown.menu.match("3")
    assert entry is not None and entry.code == "o:none"


def test_menus_number_their_actions_and_read_labels_without_accents() -> None:
    review = Reply(
        "1. Câu một: 3",
        actions=((Action("Gửi báo cáo", "submit"), Action("Sửa", "edit")),),
        step=40,
        expects_text=False,
    )
    shown = render(review, T)
    assert shown.text.endswith(f"1. Gửi báo cáo  2. Sửa — {BY_NUMBER}")
    menu = shown.menu
    assert menu is not None and not menu.question
    assert [
        getattr(menu.match(w), "code", None) for w in ("1", "2", "gui bao cao", "SỬA", "3")
    ] == [
        "submit",
        "edit",
        "submit",
        "edit",
        None,
    ]
    edit = Reply(
        "Sửa câu nào?\n\n1. A\n2. B",
        actions=((Action("1", "e:1"), Action("2", "e:2")), (Action("« Xem lại", "review"),)),
        step=41,
    )
    shown = render(edit, T)
    assert "1. 1" not in shown.text  # the questions are listed in the body already
    assert shown.menu is not None
    assert getattr(shown.menu.match("2"), "code", None) == "e:2"
    assert getattr(shown.menu.match("quay lại"), "code", None) == "review"
    assert Menu.from_json(shown.menu.to_json()) == shown.menu
    assert Menu.from_json("not json") is None


def test_long_labels_go_one_per_line_and_replies_without_actions_have_no_menu() -> None:
    reply = Reply(
        "Các báo cáo đang mở:",
        actions=((Action("6 tháng đầu năm 2023 — Huyện Mường Tè", "p:1:2"),),),
        step=0,
    )
    shown = render(reply, T)
    assert shown.text.endswith(f"1. 6 tháng đầu năm 2023 — Huyện Mường Tè\n— {BY_NUMBER}")
    assert render(Reply("Cảm ơn!"), T).menu is None
