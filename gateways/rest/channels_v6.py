"""REST v6 message bodies of every built channel and the cascade chain (pure).

``message`` objects (rest_sms.rst, rest_push.rst) become the channel and its content;
``cascadeChainLink`` (rest_cascade.rst: ``state``, ``message``, nested ``nextLink``)
becomes the submission's CascadeLink list. Core checks the channel limits again and is
the authority; these checks refuse what cannot be a request at all (wrong JSON types,
unknown names) with the field's path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from google.protobuf import duration_pb2

from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

CASCADE_STATES = {
    "DELIVERED": message_service_pb2.CASCADE_STATE_DELIVERED,
    "READ": message_service_pb2.CASCADE_STATE_READ,
}
MAX_CHAIN = 10  # deeper nextLink nesting is refused before core's own limit
# extraOptions SENDING_PLATFORMS names → the providers PushContent names.
PLATFORMS = {"ANDROID": "FCM", "IOS": "APNS", "HUAWEI": "HMS", "RUSTORE": "RUSTORE"}
CONTENT_CATEGORIES = ("IMAGE", "HTML")
BUTTON_ACTIONS = ("open-app", "link")


def _invalid(message: str, path: str) -> NoReturn:
    raise RcsError(Reason.INVALID_REQUEST, message, field=path)


@dataclass(frozen=True, slots=True)
class Body:
    """One message of a v6 request: its channel, text, serviceNumber, ttl and push."""

    channel: int
    text: str
    service_number: str
    ttl_seconds: int
    push: message_pb2.PushContent | None = None
    viber: message_pb2.ViberContent | None = None

    def sms(self) -> message_pb2.SmsContent:
        return message_pb2.SmsContent(text=self.text, sender=self.service_number)


Strings = Callable[[dict[str, Any], str, str, bool], str]


class Ttl(Protocol):
    """The request parser's ttl reader: seconds, 0 for the default, at most ``max_seconds``
    (48 hours when not given)."""

    def __call__(self, data: dict[str, Any], path: str, max_seconds: int = ...) -> int: ...


def channel_of(message_type: str, path: str = "message/type") -> int:
    """The channel of a v6 message type; an unknown name is INVALID_MESSAGE_TYPE (code 9).
    A known channel that is not built yet is refused by ``refuse_unbuilt`` with the same
    code, after the cascade's own rules (a FlashingCall followed on READ is wrong whatever
    is built), as core does."""
    channel = channels.BY_NAME.get(message_type.upper())
    if channel is not None:
        return channel
    raise RcsError(
        Reason.INVALID_MESSAGE_TYPE,
        f"message type {message_type!r} is unknown; {channels.built_list()} are available",
        field=path,
    )


def body_of(
    message: dict[str, Any], data: dict[str, Any], path: str, string: Strings, ttl: Ttl
) -> Body:
    """``message`` ({type, data}) at ``path`` as a Body; ``string`` and ``ttl`` are the
    request parser's field readers (so errors name the same paths everywhere)."""
    channel = channel_of(string(message, "type", f"{path}/type", True), f"{path}/type")
    if not channels.is_built(channel):  # refused by refuse_unbuilt; its body is not ours
        return Body(channel, "", "", 0)
    if channel == channels.TELEGRAM:
        telegram = _telegram(data, f"{path}/data", string)
        seconds = ttl(data, f"{path}/data")
        return Body(channel, telegram.text, telegram.service_number, seconds, None, telegram)
    if channel in channels.MESSENGER_CONTENT:
        if channel == channels.WHATSAPP and _is_template(data):
            viber = _whatsapp_template(data, f"{path}/data", string)
        else:
            viber = _viber(data, f"{path}/data", string, CONTENT_OF[channel])
        if channel == channels.WHATSAPP:  # up to 7 days (core checks the whole days)
            most = int(channels.LIMITS[channel].max_ttl.total_seconds())
            seconds = ttl(data, f"{path}/data", most)
        else:
            seconds = ttl(data, f"{path}/data")
        return Body(channel, viber.text, viber.service_number, seconds, None, viber)
    text = string(data, "text", f"{path}/data/text", True)
    service_number = string(data, "serviceNumber", f"{path}/data/serviceNumber", False)
    if channel == channels.VK:
        _vk(text, service_number, f"{path}/data")
    seconds = ttl(data, f"{path}/data")
    push = _push(data, f"{path}/data", string, text, service_number) if channel == 2 else None
    if push is not None:
        text = push.text
    return Body(channel, text, service_number, seconds, push)


def _vk(text: str, service_number: str, path: str) -> None:
    """rest_vk.rst: serviceNumber (the community) is required, text at most 2000
    characters (core allows http_vk.rst's 2048)."""
    if not service_number:
        raise RcsError(
            Reason.INVALID_SENDER,
            "a VK message needs message/data/serviceNumber, the community it is sent from",
            field=f"{path}/serviceNumber",
        )
    if len(text) > channels.VK_V6_MAX_TEXT:
        raise RcsError(
            Reason.INVALID_TEXT,
            f"VK text is longer than {channels.VK_V6_MAX_TEXT} characters",
            field=f"{path}/text",
        )


# rest_viber.rst instantContent/type: which of instantContent/data's fields each carries
# (required ones first: text for TEXT, imageURL for IMAGE_URL, text + caption + action for
# BUTTON, whose imageURL is optional).
VIBER_CONTENT = {
    "TEXT": (("text",), ()),
    "IMAGE_URL": (("imageURL",), ()),
    "BUTTON": (("text", "caption", "action"), ("imageURL",)),
}
# rest_whatsapp.rst: text alone or an image alone (both at once is refused).
WHATSAPP_CONTENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "TEXT": (("text",), ()),
    "IMAGE_URL": (("imageURL",), ()),
}
Shapes = dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
CONTENT_OF: dict[int, Shapes] = {channels.VIBER: VIBER_CONTENT, channels.WHATSAPP: WHATSAPP_CONTENT}


def _telegram(data: dict[str, Any], path: str, string: Strings) -> message_pb2.ViberContent:
    """rest_telegram.rst's message/data: text, an optional link (present means not empty),
    serviceNumber; the link travels as the content's button action. Lengths: core's."""
    text = string(data, "text", f"{path}/text", True)
    if not text:
        _invalid("Telegram message is absent: message/data/text is required", f"{path}/text")
    link = string(data, "link", f"{path}/link", False)
    if "link" in data and not link:
        _invalid(
            "В сообщении отсутствует значение у параметра link (message/data/link is empty)",
            f"{path}/link",
        )
    return message_pb2.ViberContent(
        service_number=string(data, "serviceNumber", f"{path}/serviceNumber", False),
        text=text,
        button_action=link,
    )


def _viber(
    data: dict[str, Any],
    path: str,
    string: Strings,
    shapes: Shapes,
) -> message_pb2.ViberContent:
    """rest_viber.rst's (or rest_whatsapp.rst's) message/data: instantContent {type, data}
    and serviceNumber, ``shapes`` saying which instantContent/type carries which fields.
    The lengths (text 1000, caption 30, action 2048 and its schemes) are core's to check."""
    content = data.get("instantContent")
    if not isinstance(content, dict):
        _invalid(
            f"{path}/instantContent is required and must be an object", f"{path}/instantContent"
        )
    kind = string(content, "type", f"{path}/instantContent/type", True).upper()
    if kind not in shapes:
        _invalid(
            f"{path}/instantContent/type must be {' or '.join(shapes)}",
            f"{path}/instantContent/type",
        )
    fields = content.get("data")
    if not isinstance(fields, dict):
        _invalid(
            f"{path}/instantContent/data is required and must be an object",
            f"{path}/instantContent/data",
        )
    required, optional = shapes[kind]
    extra = sorted(set(fields) - {*required, *optional})
    if shapes is WHATSAPP_CONTENT and extra:
        _invalid(
            f"a WhatsApp {kind} message carries only {', '.join(required)}; it has"
            f" {', '.join(extra)} too (rest_whatsapp.rst: text and image not together)",
            f"{path}/instantContent/data/{extra[0]}",
        )
    got = {
        key: string(fields, key, f"{path}/instantContent/data/{key}", key in required)
        for key in (*required, *optional)
    }
    for key in required:
        if not got[key]:
            _invalid(
                f"a {'Viber' if shapes is VIBER_CONTENT else 'WhatsApp'} {kind} message"
                f" needs instantContent/data/{key}"
                + (" (the button's link)" if key == "action" else ""),
                f"{path}/instantContent/data/{key}",
            )
    return message_pb2.ViberContent(
        service_number=string(data, "serviceNumber", f"{path}/serviceNumber", False),
        text=got.get("text", ""),
        image_url=got.get("imageURL", ""),
        button_caption=got.get("caption", ""),
        button_action=got.get("action", ""),
    )


def _is_template(data: dict[str, Any]) -> bool:
    content = data.get("instantContent")
    kind = content.get("type") if isinstance(content, dict) else None
    return isinstance(kind, str) and kind.upper() == "TEMPLATE"


def _whatsapp_template(
    data: dict[str, Any], path: str, string: Strings
) -> message_pb2.ViberContent:
    """Our extension of rest_whatsapp.rst (which has text and image only): instantContent
    {"type": "TEMPLATE", "data": {"name", "language", "parameters": [...]}} names one of
    the partner's approved templates (core checks it is the partner's, with its count of
    parameters), which WhatsApp needs to open a conversation."""
    fields = data["instantContent"].get("data")
    where = f"{path}/instantContent/data"
    if not isinstance(fields, dict):
        _invalid(f"{where} is required and must be an object", where)
    parameters = fields.get("parameters", [])
    if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
        _invalid(f"{where}/parameters must be an array of strings", f"{where}/parameters")
    return message_pb2.ViberContent(
        service_number=string(data, "serviceNumber", f"{path}/serviceNumber", False),
        template_name=string(fields, "name", f"{where}/name", True),
        template_language=string(fields, "language", f"{where}/language", True),
        template_parameters=parameters,
    )


def _bool(data: dict[str, Any], key: str, path: str) -> bool:
    value = data.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        _invalid(f"{path} must be true or false", path)
    return value


def _push(
    data: dict[str, Any], path: str, string: Strings, text: str, service_number: str
) -> message_pb2.PushContent:
    push = message_pb2.PushContent(
        service_number=service_number,
        external_user_id=string(data, "externalUserId", f"{path}/externalUserId", False),
        title=string(data, "title", f"{path}/title", False),
        text=text,
        primary_only=_bool(data, "primaryOn", f"{path}/primaryOn"),
        callback_data=string(data, "callbackData", f"{path}/callbackData", False),
    )
    content = data.get("content")
    if content is not None:
        _content(content, f"{path}/content", string, push)
    subs = data.get("deviceSubscriptions")
    if subs is not None:
        if not isinstance(subs, list) or not all(isinstance(s, str) and s for s in subs):
            _invalid(f"{path}/deviceSubscriptions must be an array of names", path)
        push.subscription = ",".join(subs)
    payload = data.get("customPayload")
    if payload is not None:
        if not isinstance(payload, dict):
            _invalid(f"{path}/customPayload must be a JSON object", f"{path}/customPayload")
        push.custom_payload_json = json.dumps(payload, ensure_ascii=False)
    # rest_push.rst names the array extraOptions in its table and Options in its examples.
    options_key = "extraOptions" if "extraOptions" in data else "Options"
    options = data.get(options_key)
    if options is not None:
        _options(options, f"{path}/{options_key}", string, push)
    return push


def _content(content: Any, path: str, string: Strings, push: message_pb2.PushContent) -> None:
    if not isinstance(content, dict):
        _invalid(f"{path} must be a JSON object", path)
    category = string(content, "contentCategory", f"{path}/contentCategory", False)
    url = string(content, "contentUrl", f"{path}/contentUrl", False)
    if category and category.upper() not in CONTENT_CATEGORIES:
        _invalid(f"{path}/contentCategory must be IMAGE or HTML", f"{path}/contentCategory")
    push.content_category = category.upper()
    if category.upper() == "HTML":
        push.link_url = url
    else:
        push.image_url = url
    actions = content.get("actions")
    if actions is not None:
        _buttons(actions, f"{path}/actions", string, push)


def _buttons(actions: Any, path: str, string: Strings, push: message_pb2.PushContent) -> None:
    if not isinstance(actions, list):
        _invalid(f"{path} must be an array", path)
    del push.buttons[:]
    for n, a in enumerate(actions):
        here = f"{path}[{n}]"
        if not isinstance(a, dict):
            _invalid(f"{here} must be a JSON object", here)
        action = string(a, "action", f"{here}/action", True)
        if action not in BUTTON_ACTIONS:
            _invalid(f"{here}/action must be open-app or link", f"{here}/action")
        options = string(a, "options", f"{here}/options", False)
        if action == "link" and not options:
            _invalid(f"{here}/options must hold the link's URL", f"{here}/options")
        push.buttons.add(text=string(a, "title", f"{here}/title", True), action_url=options)


def _options(options: Any, path: str, string: Strings, push: message_pb2.PushContent) -> None:
    """extraOptions: RICH replaces title, text, content and buttons, SENDING_PLATFORMS
    chooses providers; LIVE_ACTIVITY and SECURE go to the push service as given."""
    if not isinstance(options, list):
        _invalid(f"{path} must be an array", path)
    passed: list[Any] = []
    for n, o in enumerate(options):
        here = f"{path}[{n}]"
        if not isinstance(o, dict) or "param_value" not in o:
            _invalid(f"{here} must be an object with param_name and param_value", here)
        name = string(o, "param_name", f"{here}/param_name", True).upper()
        value = o["param_value"]
        if name == "RICH":
            if not isinstance(value, dict):
                _invalid(f"{here}/param_value must be a JSON object", here)
            _rich(value, f"{here}/param_value", string, push)
        elif name == "SENDING_PLATFORMS":
            if not isinstance(value, list) or not all(
                isinstance(p, str) and p.upper() in PLATFORMS for p in value
            ):
                _invalid(
                    f"{here}/param_value must list Android, Ios, Huawei or RuStore",
                    f"{here}/param_value",
                )
            del push.providers[:]
            push.providers.extend(PLATFORMS[p.upper()] for p in value)
        elif name in ("LIVE_ACTIVITY", "SECURE"):
            if not isinstance(value, dict):
                _invalid(f"{here}/param_value must be a JSON object", f"{here}/param_value")
            passed.append({"param_name": name, "param_value": value})
        else:
            _invalid(
                f"{here}/param_name must be RICH, LIVE_ACTIVITY, SECURE or SENDING_PLATFORMS",
                f"{here}/param_name",
            )
    if passed:
        push.extra_options_json = json.dumps(passed, ensure_ascii=False)


def _rich(value: dict[str, Any], path: str, string: Strings, push: message_pb2.PushContent) -> None:
    """rest_push.rst, param_name=RICH: each field given replaces the request's."""
    if title := string(value, "title", f"{path}/title", False):
        push.title = title
    if message := string(value, "message", f"{path}/message", False):
        push.text = message
    url = string(value, "content-url", f"{path}/content-url", False)
    if url:  # "if the URL is empty, content-category is ignored"
        category = string(value, "content-category", f"{path}/content-category", False).upper()
        if category:
            push.content_category = category
        if (category or push.content_category) == "HTML":
            push.link_url, push.image_url = url, ""
        else:
            push.image_url, push.link_url = url, ""
    payload = value.get("custom-payload")
    if payload is not None:
        push.custom_payload_json = json.dumps(payload, ensure_ascii=False)
    actions = value.get("actions")
    if actions:
        _buttons(actions, f"{path}/actions", string, push)


def refuse_unbuilt(first: int, links: list[message_service_pb2.CascadeLink]) -> None:
    """INVALID_MESSAGE_TYPE (code 9) for a message or link of a channel not built yet."""
    paths = ["message/type"] + [
        "cascadeChainLink" + "/nextLink" * n + "/message/type" for n in range(len(links))
    ]
    for channel, path in zip([first, *(link.channel for link in links)], paths, strict=True):
        if not channels.is_built(channel):
            raise RcsError(
                Reason.INVALID_MESSAGE_TYPE,
                f"{channels.name_of(channel)} messages are not enabled on this installation"
                f" yet; {channels.built_list()} are available",
                field=path,
            )


def cascade_of(
    doc: dict[str, Any], first: int, string: Strings, ttl: Ttl
) -> list[message_service_pb2.CascadeLink]:
    """``cascadeChainLink`` and its ``nextLink`` chain, in order ([] when absent), after a
    first message of channel ``first``. READ only follows a message that can be read:
    rest_cascade.rst allows FlashingCall on DELIVERED only, and SMS has no READ either."""
    out: list[message_service_pb2.CascadeLink] = []
    link = doc.get("cascadeChainLink")
    path = "cascadeChainLink"
    previous = first
    while link is not None:
        if len(out) >= MAX_CHAIN:
            _invalid(f"a cascade has at most {MAX_CHAIN} links", path)
        if not isinstance(link, dict):
            _invalid(f"{path} must be a JSON object", path)
        state = string(link, "state", f"{path}/state", True)
        if state.upper() not in CASCADE_STATES:
            _invalid(f"{path}/state must be DELIVERED or READ", f"{path}/state")
        message = link.get("message")
        if not isinstance(message, dict):
            _invalid(f"{path}/message is required and must be a JSON object", f"{path}/message")
        data = message.get("data")
        if not isinstance(data, dict):
            _invalid(f"{path}/message/data must be a JSON object", f"{path}/message/data")
        if state.upper() == "READ" and previous not in channels.READABLE:
            raise RcsError(
                Reason.INVALID_CASCADE,
                f"a {channels.name_of(previous)} message has no READ status: the link after"
                " it can only have state DELIVERED",
                field=f"{path}/state",
            )
        body = body_of(message, data, f"{path}/message", string, ttl)
        previous = body.channel
        cascade_link = message_service_pb2.CascadeLink(
            state=CASCADE_STATES[state.upper()],
            channel=body.channel,  # type: ignore[arg-type]
            ttl=duration_pb2.Duration(seconds=body.ttl_seconds),
        )
        if body.push is not None:
            cascade_link.push.CopyFrom(body.push)
        if body.viber is not None:  # VIBER and WHATSAPP
            cascade_link.viber.CopyFrom(body.viber)
        else:
            cascade_link.sms.CopyFrom(body.sms())
        out.append(cascade_link)
        link = link.get("nextLink")
        path = f"{path}/nextLink"
    return out
