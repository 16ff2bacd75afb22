"""The test plays the users: messages, files, button presses and edits become updates."""

from __future__ import annotations

import time

from tests.botapi_emulator.state import EmulatorState
from tests.botapi_emulator.wire import JSON, Sent


class Users(EmulatorState):
    """What the test does as the users: each action queues the update Telegram would send."""

    def _user(self, user_id: int, language_code: str | None, first_name: str | None = None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name or f"用户{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: int, chat_type: str, user: JSON) -> JSON:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return {"id": chat_id, "type": chat_type, "title": "某某群"}

    def _push(self, kind: str, payload: JSON) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
            self._cond.notify_all()
        return update_id

    def _message(self, user_id: int, extra: JSON, *, chat_id: int | None = None,
                 chat_type: str = "private", language_code: str | None = "zh-hans") -> JSON:
        user = self._user(user_id, language_code)
        chat_id = user_id if chat_id is None else chat_id
        msg: JSON = {"message_id": next(self._ids), "date": int(time.time()),
                     "chat": self._chat(chat_id, chat_type, user), "from": user, **extra}
        with self._cond:
            self._messages[(chat_id, msg["message_id"])] = msg
            self._chat_of.setdefault(chat_id, msg["chat"])
        kind = "channel_post" if chat_type == "channel" else "message"
        if chat_type == "channel":
            msg.pop("from")
        msg["update_id"] = self._push(kind, msg)
        return msg

    def user_sends_text(self, user_id: int, text: str, chat_type: str = "private",
                        language_code: str | None = "zh-hans") -> JSON:
        return self._message(user_id, {"text": text}, chat_type=chat_type,
                             language_code=language_code)

    def user_sends_command(self, user_id: int, command: str, args: str = "",
                           language_code: str | None = "zh-hans") -> JSON:
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        entity = {"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}
        return self._message(user_id, {"text": text, "entities": [entity]},
                             language_code=language_code)

    def group_message(self, chat_id: int, user_id: int, text: str,
                      chat_type: str = "group") -> JSON:
        return self._message(user_id, {"text": text}, chat_id=chat_id, chat_type=chat_type)

    def user_sends_photo(self, user_id: int, data: bytes, caption: str | None = None,
                         language_code: str | None = "zh-hans") -> JSON:
        """A photo arrives as several sizes; only the largest carries `data`."""
        sizes = []
        for width, blob in ((90, b"thumbnail"), (320, b"medium-size"), (1280, data)):
            f = self._file(blob, None, "jpg")
            sizes.append({"file_id": f.file_id, "file_unique_id": f.unique_id, "width": width,
                          "height": width * 3 // 4, "file_size": f.size})
        extra: JSON = {"photo": sizes}
        if caption:
            extra["caption"] = caption
        return self._message(user_id, extra, language_code=language_code)

    def user_sends_document(self, user_id: int, data: bytes | None = None, *,
                            size: int | None = None, file_name: str = "材料.pdf",
                            mime_type: str = "application/pdf",
                            language_code: str | None = "zh-hans") -> JSON:
        """A document; give `size` without `data` for a file too big to keep."""
        f = self._file(data, size, file_name.rsplit(".", 1)[-1])
        doc = {"file_id": f.file_id, "file_unique_id": f.unique_id, "file_name": file_name,
               "mime_type": mime_type, "file_size": f.size}
        return self._message(user_id, {"document": doc}, language_code=language_code)

    def user_sends_sticker(self, user_id: int) -> JSON:
        f = self._file(b"sticker", None, "webp")
        sticker = {"file_id": f.file_id, "file_unique_id": f.unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False}
        return self._message(user_id, {"sticker": sticker})

    def user_sends_voice(self, user_id: int, duration: int = 3) -> JSON:
        f = self._file(b"OggS-voice", None, "oga")
        voice = {"file_id": f.file_id, "file_unique_id": f.unique_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": f.size}
        return self._message(user_id, {"voice": voice})

    def user_sends_location(self, user_id: int, latitude: float, longitude: float) -> JSON:
        return self._message(user_id, {"location": {"latitude": latitude,
                                                    "longitude": longitude}})

    def user_edits_message(self, user_id: int, message_id: int, text: str) -> int:
        with self._cond:
            original = dict(self._messages[(user_id, message_id)])
        original.pop("update_id", None)
        original.update(text=text, edit_date=int(time.time()))
        return self._push("edited_message", original)

    def user_presses(self, user_id: int, callback_data: str, message_id: int,
                     language_code: str | None = "zh-hans") -> str:
        """Press a button of the bot's message `message_id`; returns the update id."""
        with self._cond:
            message = dict(self._messages[(user_id, message_id)])
        return self._push("callback_query", {
            "id": f"cq{next(self._ids)}", "from": self._user(user_id, language_code),
            "message": message, "chat_instance": f"ci{user_id}", "data": callback_data,
        })

    def press(self, user_id: int, label: str) -> int:
        """Press the button labelled `label` on the newest message that still shows one."""
        for sent in reversed(self.sent_to(user_id)):
            with self._cond:
                markup = self._messages[(user_id, sent.message_id)].get("reply_markup")
            data = Sent(sent.method, user_id, sent.message_id, None, markup, 0).button(label)
            if data is not None:
                return self.user_presses(user_id, data, sent.message_id)
        raise AssertionError(f"no button {label!r} in chat {user_id}: {self.texts(user_id)}")

    def shown_buttons(self, chat_id: int, message_id: int) -> list[list[tuple[str, str]]]:
        """The buttons message `message_id` shows now (after any edits)."""
        with self._cond:
            markup = self._messages[(chat_id, message_id)].get("reply_markup")
        return Sent("", chat_id, message_id, None, markup, 0).buttons

    def add_chats(self, chat_ids: list[int]) -> None:
        """Private chats that exist (as if each user had written), without queuing updates."""
        with self._cond:
            for chat_id in chat_ids:
                self._chat_of.setdefault(chat_id, {"id": chat_id, "type": "private",
                                                   "first_name": f"用户{chat_id}"})

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: every later send to them answers 403."""
        self._blocked.add(user_id)
