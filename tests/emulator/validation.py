"""Request-level rules of the Bot API emulator: parameter decoding, text, keyboards, inline results.

Owns everything that turns a raw request into validated values or a Telegram-shaped error:

* ``Params`` decodes parameters the way the Bot API does. PTB sends
  ``application/x-www-form-urlencoded`` (multipart when files are attached) where strings are raw
  and every other value (ints, bools, reply_markup, reply_parameters, ...) is JSON-encoded, so a
  form value ``"123"`` means the string for ``text`` but the integer for ``chat_id``. Plain JSON
  bodies and query strings are accepted too, as Telegram does.
* ``ApiError`` is the ``{"ok": false, "error_code": N, "description": ...}`` response.
* ``render_text`` / ``check_reply_markup`` / ``check_inline_results`` enforce the documented limits.

Descriptions copy real Telegram wording where it is known (BUTTON_DATA_INVALID, "message is too
long", ...); where it is not, they are written in the same style and start with the same
"Bad Request: " prefix so tests can match on prefixes.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from .html import TelegramHtmlError, parse_telegram_html, utf16_len

__all__ = [
    "ApiError",
    "Params",
    "check_inline_results",
    "check_reply_markup",
    "render_text",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64
MAX_INLINE_RESULTS = 50
MAX_RESULT_ID = 64

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "copy_text",
    "callback_game",
    "pay",
)
_INT_FIELDS = frozenset(
    {
        "chat_id", "message_id", "message_thread_id", "offset", "limit", "timeout", "user_id",
        "cache_time", "max_connections", "reply_to_message_id",
    }
)  # fmt: skip
_BOOL_FIELDS = frozenset(
    {
        "show_alert", "disable_notification", "protect_content", "is_personal",
        "drop_pending_updates", "allow_sending_without_reply", "disable_web_page_preview",
    }
)  # fmt: skip
_RESULT_TYPES = frozenset(
    {
        "article", "audio", "contact", "document", "game", "gif", "location", "mpeg4_gif",
        "photo", "sticker", "venue", "video", "voice",
    }
)  # fmt: skip


class ApiError(Exception):
    """A non-ok Bot API response."""

    # Set by the server: injected by fail_next, or not worth listing in ``emu.errors``.
    injected = False
    quiet = False

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


class Params:
    """Typed access to request parameters, whichever encoding the client used."""

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    def as_dict(self) -> dict[str, Any]:
        """Parameters decoded for logs and inspection: JSON objects parsed, known integer and
        boolean fields converted, everything else (text, parse_mode, ...) left as sent."""
        out = {}
        for key, value in self.raw.items():
            if isinstance(value, str):
                if value[:1] in ("{", "["):
                    with contextlib.suppress(ValueError):
                        value = json.loads(value)
                elif key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
                    value = int(value)
                elif key in _BOOL_FIELDS and value in ("true", "false"):
                    value = value == "true"
            out[key] = value
        return out

    def str(self, name: str, *, required: str | None = None) -> str | None:
        """``required`` is the error reason to raise when the parameter is absent."""
        value = self.raw.get(name)
        if value is None:
            if required:
                raise bad_request(required)
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise bad_request(f'field "{name}" must be of type String')
        return value

    def int(self, name: str, *, required: str | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(required)
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise bad_request(f'field "{name}" must be of type Integer')

    def float(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be a Number')
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a Number') from None

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.lower() in ("true", "1"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", ""):
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def json(self, name: str, *, what: str | None = None) -> Any:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value

    def chat_id(self, name: str = "chat_id", *, required: bool = True) -> int | str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise bad_request("chat not found")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if text.startswith("@"):
            return text
        raise bad_request("chat not found")


def normalise_parse_mode(parse_mode: str | None) -> str | None:
    if not parse_mode:
        return None
    lowered = parse_mode.lower()
    if lowered == "html":
        return "HTML"
    if lowered in ("markdownv2", "markdown"):
        # Supporting two markup dialects would double the surface the bot can get wrong;
        # the bot is expected to use HTML only.
        raise bad_request(
            f"can't parse entities: parse_mode {parse_mode} is not supported by the emulator; "
            "use HTML"
        )
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def _check_given_entities(text: str, entities: Any) -> list[dict]:
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    out = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise bad_request('can\'t parse MessageEntity: field "type" must be of type String')
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse MessageEntity: offset and length must be Integer")
        if offset < 0 or length < 0 or offset + length > size:
            raise bad_request("can't parse entities: entity is out of the text bounds")
        if length:
            out.append(dict(entity))
    return out


def render_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any = None,
    *,
    max_length: int = MAX_TEXT,
    empty_error: str = "message text is empty",
    long_error: str = "message is too long",
) -> tuple[str, list[dict], str | None]:
    """Validate message text; return (visible text, entities, effective parse_mode)."""
    if text is None:
        raise bad_request(empty_error)
    if entities is not None:
        # As on Telegram, explicit entities win and parse_mode is ignored.
        plain, ents, mode = text, _check_given_entities(text, entities), None
    else:
        mode = normalise_parse_mode(parse_mode)
        if mode == "HTML":
            try:
                plain, ents = parse_telegram_html(text)
            except TelegramHtmlError as exc:
                raise bad_request(f"can't parse entities: {exc.reason}") from None
        else:
            plain, ents = text, []
    if not plain.strip():
        raise bad_request(empty_error)
    if utf16_len(plain) > max_length:
        raise bad_request(long_error)
    return plain, ents, mode


def _valid_url(url: Any, *, allow_tg: bool = True, https_only: bool = False) -> bool:
    if not isinstance(url, str) or not url or any(c.isspace() for c in url):
        return False
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "tg":
        return allow_tg and bool(parts.netloc or parts.path)
    if scheme == "https" or (scheme == "http" and not https_only):
        return bool(parts.hostname)
    return False


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, got {', '.join(actions)}"
        )
    action = actions[0]
    value = button[action]
    if action == "callback_data":
        if not isinstance(value, str) or not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        if not _valid_url(value):
            raise bad_request("BUTTON_URL_INVALID")
    elif action in ("switch_inline_query", "switch_inline_query_current_chat"):
        if not isinstance(value, str):
            raise bad_request(
                f'can\'t parse inline keyboard button: field "{action}" must be of type String'
            )
    elif action == "switch_inline_query_chosen_chat":
        if not isinstance(value, dict):
            raise bad_request(
                "can't parse inline keyboard button: SwitchInlineQueryChosenChat must be an Object"
            )
    elif action in ("web_app", "login_url"):
        url = value.get("url") if isinstance(value, dict) else None
        if not _valid_url(url, allow_tg=False, https_only=action == "web_app"):
            raise bad_request("BUTTON_URL_INVALID")
    elif action == "copy_text":
        copied = value.get("text") if isinstance(value, dict) else None
        if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
            raise bad_request("COPY_TEXT_INVALID")
    else:
        # callback_game / pay only exist on games and invoices, never on text messages.
        raise bad_request("BUTTON_TYPE_INVALID")


def check_inline_keyboard(markup: dict) -> dict:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays'
        )
    total = sum(len(row) for row in rows)
    if total > MAX_BUTTONS:
        raise bad_request("REPLY_MARKUP_TOO_LONG")
    for row in rows:
        for button in row:
            _check_inline_button(button)
    # Telegram drops empty rows when echoing the keyboard back.
    return {"inline_keyboard": [row for row in rows if row]}


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> dict | None:
    """Validate reply_markup; return the normalised markup (None if absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return check_inline_keyboard(markup)
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('can\'t parse keyboard: field "keyboard" must be an Array of Arrays')
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else (button or {}).get("text")
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("BUTTON_TEXT_INVALID")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_input_message_content(content: Any) -> None:
    if not isinstance(content, dict):
        raise bad_request("can't parse InputMessageContent JSON object")
    if "message_text" in content:
        render_text(content.get("message_text"), content.get("parse_mode"), content.get("entities"))
    elif not any(
        key in content for key in ("latitude", "phone_number", "description", "title", "checklist")
    ):
        raise bad_request("can't parse InputMessageContent JSON object")


def check_inline_results(results: Any) -> list[dict]:
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict):
            raise bad_request("can't parse InlineQueryResult JSON object")
        result_id = result.get("id")
        if (
            not isinstance(result_id, str)
            or not 1 <= len(result_id.encode("utf-8")) <= MAX_RESULT_ID
        ):
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        kind = result.get("type")
        if kind not in _RESULT_TYPES:
            raise bad_request("RESULT_TYPE_INVALID")
        if kind == "article":
            if not isinstance(result.get("title"), str) or not result["title"].strip():
                raise bad_request("RESULT_TITLE_EMPTY")
            if "input_message_content" not in result:
                raise bad_request("can't parse InputMessageContent JSON object")
        if "input_message_content" in result:
            _check_input_message_content(result["input_message_content"])
        if result.get("caption"):
            render_text(
                result["caption"],
                result.get("parse_mode"),
                result.get("caption_entities"),
                max_length=MAX_CAPTION,
                long_error="message caption is too long",
            )
        check_reply_markup(result.get("reply_markup"), inline_only=True)
    return results
