"""HTTP v5's XML answer against http_sms.rst's "Описание элементов XML" table: response with
code, text and (only with code 200) payload/id, nothing else; for every v5 code."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gateways.rest.http_v5_parsing import V5_CODES, V5Error, render_error, render_ok


def _elements(body: str) -> dict[str, str]:
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>'), body
    root = ET.fromstring(body.encode())  # our own answer
    assert root.tag == "response"
    return {
        "/".join(p for p in (parent.tag, child.tag) if p != "response"): (child.text or "")
        for parent in root.iter()
        for child in parent
    }


def test_ok_answer_has_code_text_and_payload_id() -> None:
    answer = render_ok("4095284976", xml=True)
    found = _elements(answer.body)
    assert set(found) == {"code", "text", "payload", "payload/id"}
    assert (found["code"], found["payload/id"]) == ("200", "4095284976")
    assert found["payload/id"].isdigit()


@pytest.mark.parametrize("code", sorted(V5_CODES))
def test_error_answers_have_code_and_text_and_no_payload(code: int) -> None:
    answer = render_error(V5Error(code, "detail"), xml=True)
    found = _elements(answer.body)
    assert set(found) == {"code", "text"}
    assert found["code"] == str(code)
    assert answer.status == (500 if code == 500 else 200)
