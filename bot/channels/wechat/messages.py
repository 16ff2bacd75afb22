"""What the WeChat channel itself says (the engine's words are in store/conversation/messages.py)."""

from store.i18n import register

register({
    "wechat.options": {"zh": "回复数字选择：", "en": "Reply with a number:"},
    "wechat.media_failed": {
        "zh": "这张图片没能收到，请重新发送一次。",
        "en": "That picture did not reach us; please send it again.",
    },
    "wechat.template.first": {"zh": "民意直通车有新的消息", "en": "A new message from the opinion line"},
    "wechat.template.remark": {
        "zh": "请进入公众号查看完整内容并回复。",
        "en": "Open the account to read all of it and reply.",
    },
})
