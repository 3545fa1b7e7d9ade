"""The Bot API methods the stand-in carries out: sending, editing, deleting, copying messages,
answering button presses, the bot's commands.

Each checks its parameters like Telegram, then changes the world and records what was sent.
"""

from __future__ import annotations

import copy
import json
import re
import time

from standin.telegram.errors import JSON, NOT_MODIFIED, ApiError, bad
from standin.telegram.faults import FaultInjection
from standin.telegram.files import FileStore, StoredFile
from standin.telegram.records import SentMessage, Upload
from standin.telegram.validation import (
    MAX_CALLBACK_ANSWER,
    check_caption,
    check_markup,
    check_text,
)

_COPIED_CONTENT = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "location",
    "contact",
    "venue",
    "poll",
    "dice",
)
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class BotApiMethods(FaultInjection, FileStore):
    """The handlers of the Bot API methods; each takes the decoded parameters."""

    def _sendable_chat(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        if chat["type"] == "private" and chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user", deliberate=True)
        return chat

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        """Resolve reply_parameters / reply_to_message_id into the replied message (or None)."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target_id = reply.get("message_id")
            target_chat = reply.get("chat_id", chat_id)
            allow = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target_id = params["reply_to_message_id"]
            target_chat = chat_id
            allow = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        if isinstance(target_chat, str):
            target_chat = int(self._chat(target_chat)["id"])
        target = self._messages.get(int(target_chat), {}).get(int(target_id or 0))
        if target is None:
            if allow:
                return None
            raise bad("message to be replied not found")
        replied = dict(target)
        replied.pop("reply_to_message", None)
        return replied

    def _record(
        self,
        method: str,
        message: JSON,
        params: JSON,
        *,
        text: str | None,
        reply_markup: JSON | None,
        file: StoredFile | None = None,
        upload: Upload | None = None,
    ) -> SentMessage:
        chat_id = int(message["chat"]["id"])
        message_id = int(message["message_id"])
        sent = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=params.get("parse_mode"),
            reply_markup=reply_markup,
            file_bytes=upload.content if upload is not None else None,
            file_name=(upload.filename if upload is not None else file.file_name if file else None),
            file_id=file.file_id if file is not None else None,
            params=params,
        )
        self.sent.append(sent)
        self._bot_messages.setdefault(chat_id, {})[message_id] = sent
        for listener in self.listeners:
            listener(sent)
        return sent

    def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands must be an Array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict):
                raise bad("BotCommand must be an Object")
            if not _BOT_COMMAND_NAME.match(str(command.get("command", "")).removeprefix("/")):
                raise bad("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad("command description is empty or longer than 256 characters")
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self.commands[key] = [
            {"command": str(c["command"]).removeprefix("/"), "description": c["description"]}
            for c in commands
        ]
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        return self.commands.get(key, [])

    def _delete_my_commands(self, params: JSON) -> bool:
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self.commands.pop(key, None)
        return True

    def _send_chat_action(self, params: JSON) -> bool:
        self._sendable_chat(params)
        return True

    def _send_message(self, params: JSON) -> JSON:
        chat = self._sendable_chat(params)
        parsed = check_text(params)
        markup = check_markup(params.get("reply_markup"))
        replied = self._reply_target(int(chat["id"]), params)
        self._rate_check(chat, "sendMessage")
        message = self._new_message(chat, self.bot_user)
        if replied is not None:
            message["reply_to_message"] = replied
        message["text"] = parsed.text
        if parsed.entities:
            message["entities"] = parsed.entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[int(chat["id"])][message["message_id"]] = message
        self._record("sendMessage", message, params, text=params["text"], reply_markup=markup)
        return message

    def _editable(self, params: JSON) -> tuple[JSON, JSON]:
        if params.get("inline_message_id"):
            raise bad("inline messages are not supported by the Bot API stand-in")
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get(int(chat["id"]), {}).get(int(params.get("message_id") or 0))
        if message is None:
            raise bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad("message can't be edited")
        if chat["type"] == "private" and chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user", deliberate=True)
        return chat, message

    def _apply_edit(
        self,
        method: str,
        chat: JSON,
        message: JSON,
        params: JSON,
        changes: JSON,
        *,
        text: str | None,
        markup: JSON | None,
    ) -> JSON:
        """Refuse a no-op edit, else apply ``changes`` and record the new state."""
        unchanged = all(
            (message.get(key) or None) == (value or None) for key, value in changes.items()
        )
        if unchanged and message.get("reply_markup") == markup:
            raise bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._rate_check(chat, method)
        for key, value in changes.items():
            if value in (None, []):
                message.pop(key, None)
            else:
                message[key] = value
        if markup is None:
            message.pop("reply_markup", None)  # Telegram drops the keyboard when none is resent
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        previous = self._bot_messages.get(int(chat["id"]), {}).get(int(message["message_id"]))
        sent = self._record(method, message, params, text=text, reply_markup=markup)
        if previous is not None:
            sent.file_bytes = previous.file_bytes
            sent.file_name = previous.file_name
            sent.file_id = previous.file_id
            if method == "editMessageReplyMarkup":
                sent.text, sent.parse_mode = previous.text, previous.parse_mode
        return message

    def _edit_message_text(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise bad("there is no text in the message to edit")
        parsed = check_text(params)
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        changes = {"text": parsed.text, "entities": parsed.entities}
        return self._apply_edit(
            "editMessageText", chat, message, params, changes, text=params["text"], markup=markup
        )

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(
            "editMessageReplyMarkup", chat, message, params, {}, text=None, markup=markup
        )

    def _delete_message(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        chat_id = int(chat["id"])
        message_id = int(params.get("message_id") or 0)
        if self._messages.get(chat_id, {}).pop(message_id, None) is None:
            raise bad("message to delete not found")
        self._bot_messages.get(chat_id, {}).pop(message_id, None)
        return True

    def _delete_messages(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad("message_ids must be an Array of 1-100 Integer")
        for message_id in ids:
            self._messages.get(int(chat["id"]), {}).pop(int(message_id), None)
            self._bot_messages.get(int(chat["id"]), {}).pop(int(message_id), None)
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._callbacks:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER:
            raise bad("MESSAGE_TOO_LONG")
        del self._callbacks[query_id]
        self.answered_callbacks.append(params)
        return True

    def _send_media(self, params: JSON, method: str, field_name: str, kind: str) -> JSON:
        chat = self._sendable_chat(params)
        stored, upload = self._input_file(params, field_name, kind)
        caption = check_caption(params)
        markup = check_markup(params.get("reply_markup"))
        replied = self._reply_target(int(chat["id"]), params)
        self._rate_check(chat, method)
        message = self._new_message(chat, self.bot_user)
        if replied is not None:
            message["reply_to_message"] = replied
        if kind == "photo":
            message["photo"] = stored.photo_json()
        else:
            message["document"] = stored.document_json()
        if caption is not None:
            message["caption"] = caption.text
            if caption.entities:
                message["caption_entities"] = caption.entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[int(chat["id"])][message["message_id"]] = message
        self._record(
            method,
            message,
            params,
            text=params.get("caption"),
            reply_markup=markup,
            file=stored,
            upload=upload,
        )
        return message

    def _send_photo(self, params: JSON) -> JSON:
        return self._send_media(params, "sendPhoto", "photo", "photo")

    def _send_document(self, params: JSON) -> JSON:
        return self._send_media(params, "sendDocument", "document", "document")

    def _source_message(self, params: JSON, what: str) -> JSON:
        source_chat = self._chat(params.get("from_chat_id"))
        source = self._messages.get(int(source_chat["id"]), {}).get(
            int(params.get("message_id") or 0)
        )
        if source is None:
            raise bad(f"message to {what} not found")
        if not any(key in source for key in _COPIED_CONTENT):
            raise bad(f"message can't be {what.replace('copy', 'copi')}ed")
        return source

    def _relay(self, method: str, params: JSON, message: JSON) -> None:
        chat_id = int(message["chat"]["id"])
        self._messages[chat_id][message["message_id"]] = message
        file_id = None
        if "photo" in message:
            file_id = message["photo"][-1]["file_id"]
        elif "document" in message:
            file_id = message["document"]["file_id"]
        stored = self._files.get(file_id) if file_id else None
        sent = self._record(
            method,
            message,
            params,
            text=params.get("caption") or message.get("text") or message.get("caption"),
            reply_markup=message.get("reply_markup"),
            file=stored,
        )
        if stored is None and file_id:
            sent.file_id = file_id
        if params.get("caption") is None:
            sent.parse_mode = None  # the copied text is already plain text plus entities

    def _copy_message(self, params: JSON) -> JSON:
        source = self._source_message(params, "copy")
        chat = self._sendable_chat(params)
        caption = check_caption(params)
        markup = check_markup(params.get("reply_markup"))
        replied = self._reply_target(int(chat["id"]), params)
        self._rate_check(chat, "copyMessage")
        message = self._new_message(chat, self.bot_user)
        for key in _COPIED_CONTENT:
            if key in source:
                message[key] = copy.deepcopy(source[key])
        if caption is not None and "text" not in message:
            message["caption"] = caption.text
            message.pop("caption_entities", None)
            if caption.entities:
                message["caption_entities"] = caption.entities
        if replied is not None:
            message["reply_to_message"] = replied
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._relay("copyMessage", params, message)
        return {"message_id": message["message_id"]}

    def _forward_message(self, params: JSON) -> JSON:
        source = self._source_message(params, "forward")
        chat = self._sendable_chat(params)
        self._rate_check(chat, "forwardMessage")
        message = self._new_message(chat, self.bot_user)
        origin: JSON = {"type": "user", "sender_user": source.get("from"), "date": source["date"]}
        if source.get("from") is None:
            origin = {"type": "chat", "sender_chat": source["chat"], "date": source["date"]}
        message["forward_origin"] = origin
        for key in _COPIED_CONTENT:
            if key in source:
                message[key] = copy.deepcopy(source[key])
        self._relay("forwardMessage", params, message)
        return message
