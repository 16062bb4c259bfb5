"""Search in a group's history: Chinese by any part of a phrase (character pairs), other scripts by words,
through the selector, the API and the page; a member sees only their groups' shown messages."""

import pytest

from groups import search, selectors, services
from tests.conftest import actor_for


def _send(user, group, body, cmid):
    return services.message_send(actor=actor_for(user), group=group, body=body, client_msg_id=cmid)[0]


def test_lexemes_are_character_pairs_with_positions_and_words():
    assert search.document_lexemes("微信支付") == "'微信':1 '信支':2 '支付':3 '付':4"
    assert search.document_lexemes("Hello, 世界!") == "'hello':1 '世界':3 '界':4"
    assert search.document_lexemes("") == ""
    assert search.document_lexemes("!!! ...") == ""


def test_queries_are_phrases_of_pairs_and_word_prefixes():
    assert search.query_expression("信支付") == "('信支' <-> '支付')"
    assert search.query_expression("书") == "('书':*)"
    assert search.query_expression("Hel 读书") == "('hel':*) & ('读书')"
    assert search.query_expression("  ,;'") == ""
    assert search.query_expression("a'b\\c") == "('a':*) & ('b':*) & ('c':*)"  # no quote reaches SQL


@pytest.fixture
def history(db, owner, member, group):
    lines = [
        "周六下午三点在图书馆见",
        "我在讀書會讀完了平凡的世界",  # traditional characters
        "Meeting notes are on the wiki",
        "图书馆周日不开门",
        "这条会被删除：图书馆的秘密",
    ]
    messages = [_send(member, group, line, f"s{n}") for n, line in enumerate(lines)]
    services.message_remove(actor=actor_for(owner), message=messages[4])
    return messages


def _bodies(found):
    return [m.body for m in found]


def test_search_finds_any_part_of_a_chinese_phrase_newest_first(history, group):
    assert _bodies(selectors.message_search(group, "图书馆")) == [
        "图书馆周日不开门",
        "周六下午三点在图书馆见",
    ]
    assert _bodies(selectors.message_search(group, "书馆周")) == ["图书馆周日不开门"]
    assert _bodies(selectors.message_search(group, "门")) == ["图书馆周日不开门"]  # one character, at the end
    assert selectors.message_search(group, "馆图") == []  # the pairs must be in order


def test_search_folds_traditional_and_case(history, group):
    assert _bodies(selectors.message_search(group, "读书会")) == ["我在讀書會讀完了平凡的世界"]
    assert _bodies(selectors.message_search(group, "MEET")) == ["Meeting notes are on the wiki"]
    assert selectors.message_search(group, "notes wiki")[0].body.startswith("Meeting")


def test_search_skips_removed_messages_and_pages_back(history, group):
    assert "秘密" not in "".join(_bodies(selectors.message_search(group, "秘密")))
    newest = selectors.message_search(group, "图书馆", limit=1)
    older = selectors.message_search(group, "图书馆", before=newest[0].seq, limit=1)
    assert _bodies(older) == ["周六下午三点在图书馆见"]


def test_search_api_and_page_for_members_only(client, history, group, member, outsider):
    client.force_login(member)
    response = client.get(f"/api/groups/{group.code}/messages/search/", {"q": "图书馆"})
    assert response.status_code == 200 and response.json()[0]["body"] == "图书馆周日不开门"
    assert client.get(f"/api/groups/{group.code}/messages/search/").status_code == 400
    page = client.get(f"/groups/{group.code}/search/", {"q": "图书馆"}).content.decode()
    assert "周六下午三点在图书馆见" in page and "秘密" not in page
    empty = client.get(f"/groups/{group.code}/search/", {"q": "火星"}).content.decode()
    assert "火星" in empty and "search-hit" not in empty
    client.force_login(outsider)
    assert client.get(f"/groups/{group.code}/search/", {"q": "图书馆"}).status_code == 404
    assert client.get(f"/api/groups/{group.code}/messages/search/", {"q": "图书馆"}).status_code == 404


def test_a_very_long_word_is_stored_and_searchable_by_its_beginning(db, member, group):
    word = "ж" * 1500  # 3,000 bytes: more than PostgreSQL takes in one lexeme
    message = _send(member, group, f"{word} 你好", "long1")
    assert _bodies(selectors.message_search(group, "жжж")) == [message.body]
    assert _bodies(selectors.message_search(group, "你好")) == [message.body]


def test_invisible_characters_and_modifiers_do_not_split_words():
    assert search.query_expression("微\u200b信") == search.query_expression("微信")
    assert search.document_lexemes("e\u0301te\u0301") == search.document_lexemes("été")
    assert search.query_expression("レーラ") == "('レー' <-> 'ーラ')"
