"""What the conversation engine says, in Chinese and English.

A message that tells people to type a /command has a variant, the same key
with `.buttons` appended, for channels where people only press buttons and
type words (the web chat); `worded` picks the one a channel should get.
"""

from store.conversation.commands import help_text
from store.conversation.types import Capabilities
from store.i18n import MESSAGES, register

BUTTONS = ".buttons"
# Replies only a typed command or a Telegram-only event can bring, which must
# name the command they explain: no variant needed.
TYPED_ONLY = frozenset({"chat.edited", "chat.link.unknown", "chat.link.expired", "chat.link.disabled",
                        "chat.link.usage", "chat.bind.usage", "chat.bulletin_off",
                        "chat.bulletin_on"})


def worded(key: str, capabilities: Capabilities) -> str:
    """The key of message `key` as a channel with `capabilities` should say it."""
    if capabilities.commands:
        return key
    variant = key + BUTTONS
    return variant if variant in MESSAGES else key


# What a channel may send that the engine cannot take, named for the reply.
UNSUPPORTED_NAMES = {
    "sticker": ("贴纸", "stickers"), "voice": ("语音消息", "voice messages"),
    "video": ("视频", "videos"), "video_note": ("视频消息", "video messages"),
    "audio": ("音频", "audio"), "animation": ("动图", "animations"),
    "contact": ("名片", "contacts"), "poll": ("投票", "polls"), "dice": ("骰子", "dice"),
}

register({
    "chat.welcome": {
        "zh": "您好！这里是政协社情民意信息直通车。\n您可以反映身边的问题和意见建议，我们会审核处理并在这里告诉您结果。",
        "en": "Hello! This is the CPPCC public opinion line.\nReport a problem or a suggestion; we review it and tell you the outcome here.",
    },
    "chat.point_bound": {"zh": "📍 采集点：{point}", "en": "📍 Collection point: {point}"},
    "chat.token.forged": {
        "zh": "这个二维码无法识别，可能已损坏或不是本平台的二维码。请重新扫描采集点张贴的二维码。",
        "en": "This QR code is not recognised; it may be damaged or not ours. Scan the code at the collection point again.",
    },
    "chat.token.unknown": {
        "zh": "这个二维码对应的采集点不存在。请重新扫描采集点张贴的二维码。",
        "en": "This QR code names no collection point. Scan the code at the collection point again.",
    },
    "chat.token.retired": {
        "zh": "这个二维码已经更换，请扫描采集点张贴的新二维码。",
        "en": "This QR code has been replaced. Scan the new code at the collection point.",
    },
    "chat.need_point": {
        "zh": "请先扫描采集点张贴的二维码，再开始反映：每条信息都经由一个采集点送到负责的单位。"
              "已填写的内容会保留。",
        "en": "Please scan the QR code posted at a collection point first: every report reaches "
              "the office responsible through a collection point. Anything filled in is kept.",
    },
    "chat.token.routed": {
        "zh": "这个二维码已经更换，已为您转到新的采集点「{point}」。",
        "en": "This QR code has been replaced; you are now with the collection point {point}.",
    },
    "chat.token.inactive": {
        "zh": "这个采集点已停用。请扫描附近其他采集点的二维码反映。",
        "en": "This collection point is closed. Scan the code of another collection point nearby.",
    },
    "chat.draft_kept": {
        "zh": "您有一份尚未提交的信息（已填 {n} 项），内容都还在。要继续填写，还是放弃它重新开始？",
        "en": "You have an unsubmitted report ({n} answers so far); nothing is lost. Continue it, or discard it and start again?",
    },
    "chat.resumed": {"zh": "好的，继续填写。", "en": "OK, let's continue."},
    "chat.cancelled": {
        "zh": "已取消，本次填写的内容已清除。需要时随时点“反映新问题”重新开始。",
        "en": "Cancelled; this draft has been cleared. Tap Report whenever you want to start again.",
    },
    "chat.side_cancelled": {
        "zh": "好的，已取消。", "en": "OK, cancelled.",
    },
    "chat.nothing_to_cancel": {"zh": "当前没有正在填写的信息。", "en": "There is no report in progress."},
    "chat.cannot_go_back": {"zh": "已经是第一项了。", "en": "This is already the first question."},
    # Generated from the one list of commands.
    "chat.help": {"zh": help_text("zh"), "en": help_text("en")},
    "chat.idle_hint": {
        "zh": "如需反映情况，请点“反映新问题”；查看进度请点“我的反映”。",
        "en": "To report something tap Report; to see your reports tap My reports.",
    },
    "chat.edited": {
        "zh": "已发送的消息修改后不会生效。如需更改答案，请在提交前的核对页点“修改”，或发送 /back 返回上一步。",
        "en": "Edits to sent messages are not applied. To change an answer, use Edit on the summary before submitting, or send /back.",
    },
    "chat.unsupported": {
        "zh": "暂不支持{what}。请用文字回答，或按提示发送照片、文件、位置。",
        "en": "Sorry, {what} is not supported. Please answer in text, or send a photo, file or location when asked.",
    },
    "chat.flood": {
        "zh": "您发送得太快了，请稍等几秒再继续。已填写的内容不会丢失。",
        "en": "You are sending too fast; wait a few seconds. Nothing you answered is lost.",
    },
    "chat.stale_button": {
        "zh": "这个按钮已失效（可能已经点过了）。请按最新的提示操作：",
        "en": "That button has expired (perhaps it was already pressed). Please follow the latest prompt:",
    },
    "chat.already_submitted": {
        "zh": "这份信息已经提交过了，编号 {no}，无需重复提交。",
        "en": "This report was already submitted as {no}; no need to submit it again.",
    },
    "chat.progress": {"zh": "（第 {i}/{n} 项）", "en": "(question {i} of {n})"},
    "chat.review": {
        "zh": "请核对您要反映的信息：\n\n{summary}\n\n确认无误请点“确认提交”，需要更改请点“修改”。",
        "en": "Please check your report:\n\n{summary}\n\nTap Submit if it is right, or Edit to change something.",
    },
    "chat.edit_which": {"zh": "要修改哪一项？", "en": "Which answer do you want to change?"},
    "chat.receipt": {
        "zh": "✅ 提交成功！\n信息编号：{no}\n标题：{title}\n\n我们会尽快审核，结果会在这里通知您。{expect}发送 /my 可随时查看办理进度。",
        "en": "✅ Submitted!\nTracking number: {no}\nTitle: {title}\n\nWe will review it soon and tell you the outcome here. {expect} Send /my to follow it.",
    },
    "chat.my.none": {"zh": "您还没有反映过信息。", "en": "You have not reported anything yet."},
    "chat.my.header": {"zh": "您反映的信息（最近 {n} 条）：", "en": "Your reports (latest {n}):"},
    "chat.my.row": {"zh": "{no}《{title}》\n    {status} · {date}", "en": "{no} \"{title}\"\n    {status} · {date}"},
    "chat.skipped": {"zh": "（未填写）", "en": "(skipped)"},
    "chat.yes": {"zh": "是", "en": "Yes"},
    "chat.no": {"zh": "否", "en": "No"},
    "chat.files": {"zh": "{n} 个文件", "en": "{n} file(s)"},
    "chat.location": {"zh": "位置（{lat:.5f}, {lon:.5f}）", "en": "Location ({lat:.5f}, {lon:.5f})"},
    "chat.file_received": {
        "zh": "已收到第 {n} 个文件。可以继续上传，上传完毕请点“完成”。",
        "en": "File {n} received. Send more, or tap Done.",
    },
    "chat.supplement.start": {
        "zh": "请为信息 {no}《{title}》补充内容。\n需要补充：{question}\n\n请发送文字说明或照片、文件，全部发完后点“提交补充”。",
        "en": "Add information to report {no} \"{title}\".\nRequested: {question}\n\nSend text, photos or files, then tap Send supplement.",
    },
    "chat.supplement.noted": {
        "zh": "已记下。可以继续补充，完成后点“提交补充”。",
        "en": "Noted. Add more, or tap Send supplement.",
    },
    "chat.supplement.empty": {
        "zh": "还没有收到补充内容，请先发送文字说明或照片。",
        "en": "Nothing added yet: send some text or a photo first.",
    },
    "chat.supplement.done": {
        "zh": "✅ 补充内容已提交（信息编号 {no}），我们会继续审核。",
        "en": "✅ Supplement sent for report {no}; the review continues.",
    },
    "chat.supplement.closed": {
        "zh": "信息 {no} 目前不需要补充（可能已经处理完毕）。发送 /my 查看最新进度。",
        "en": "Report {no} needs no more information now (it may have been settled). Send /my to see where it stands.",
    },
    "chat.supplement.expired": {
        "zh": "信息 {no} 因超过期限未补充，已经办结，这次的补充内容没有提交。如情况仍存在，欢迎点“反映新问题”重新反映。",
        "en": "Report {no} was closed because the information did not arrive in time, so this supplement was not sent. If the problem persists, tap Report to report it again.",
    },
    "chat.supplement.files_only": {"zh": "（补充了 {n} 个文件）", "en": "({n} file(s) added)"},
    # Buttons.
    "btn.report": {"zh": "📝 反映新问题", "en": "📝 Report"},
    "btn.my": {"zh": "📋 我的反映", "en": "📋 My reports"},
    "btn.skip": {"zh": "跳过", "en": "Skip"},
    "btn.done": {"zh": "完成", "en": "Done"},
    "btn.back": {"zh": "返回上一步", "en": "Back"},
    "btn.confirm": {"zh": "✅ 确认提交", "en": "✅ Submit"},
    "btn.edit": {"zh": "✏️ 修改", "en": "✏️ Edit"},
    "btn.cancel": {"zh": "取消", "en": "Cancel"},
    "btn.resume": {"zh": "继续填写", "en": "Continue"},
    "btn.restart": {"zh": "放弃并重新开始", "en": "Discard and restart"},
    "btn.to_review": {"zh": "返回核对", "en": "Back to summary"},
    "btn.supplement_done": {"zh": "提交补充", "en": "Send supplement"},
    # Why an answer was not taken.
    "invalid.need_text": {"zh": "这一项请用文字回答。", "en": "Please answer this one in text."},
    "invalid.too_short": {
        "zh": "内容太短了，请至少写 {min} 个字，把情况说清楚。",
        "en": "That is too short; write at least {min} characters.",
    },
    "invalid.too_long": {
        "zh": "内容太长了（{n} 字），这一项请控制在 {max} 字以内。可以分点精简后重新发送。",
        "en": "That is too long ({n} characters); keep it within {max}. Please shorten it and send again.",
    },
    "invalid.no_content": {
        "zh": "没有看到实际内容，请用文字具体说明。",
        "en": "There is no real content there; please describe it in words.",
    },
    "invalid.no_fact": {
        "zh": "请补充具体事实，例如涉及多少人、多少户、持续多长时间、发生在哪一年，用具体数据和真实事例说明。",
        "en": "Please add concrete facts: how many people or households, how long, since when. Numbers and real cases help.",
    },
    "invalid.empty_suggestion": {
        "zh": "请写出具体的意见建议，例如希望哪个部门、采取什么措施。",
        "en": "Please give a concrete suggestion: which body should do what.",
    },
    "invalid.choose": {"zh": "请点击下方按钮选择。", "en": "Please choose with the buttons below."},
    "invalid.yesno": {"zh": "请点“是”或“否”。", "en": "Please tap Yes or No."},
    "invalid.need_file": {
        "zh": "这一项请发送照片或文件；上传完毕请点“完成”，没有可点“跳过”。",
        "en": "Send a photo or a file here; tap Done when finished, or Skip.",
    },
    "invalid.file_too_big": {
        "zh": "文件太大（{mb} MB），单个文件不能超过 {max} MB。请压缩后重新发送，或改发照片。",
        "en": "The file is too large ({mb} MB); the limit is {max} MB. Compress it or send a photo instead.",
    },
    "invalid.file_type": {
        "zh": "暂不支持这种文件（{type}）。请发送照片（JPG/PNG）或 PDF、Word、Excel、文本文件。",
        "en": "This file type ({type}) is not supported. Send a photo (JPG/PNG) or a PDF, Word, Excel or text file.",
    },
    "invalid.image_too_large": {
        "zh": "这张图片像素太多（超过 {max} 百万像素），无法收下。已收到的内容都还在；"
              "请缩小图片或截图后重新发送。",
        "en": "This picture has too many pixels (over {max} megapixels), so it was not "
              "kept. Everything received so far is still here; shrink it or send a screenshot.",
    },
    "invalid.too_many_files": {
        "zh": "最多上传 {max} 个文件，已经够了。请点“完成”继续。",
        "en": "At most {max} files; tap Done to go on.",
    },
    "invalid.chat_files_full": {
        "zh": "这份信息里尚未提交的附件已达 {mb} MB 上限，这个文件没有收下。"
              "已收到的文件和填写的内容都还在；请提交后再发送其他文件，或改发文字说明。",
        "en": "The files not yet submitted in this chat reached the {mb} MB limit, so this one "
              "was not kept. Everything received so far is still here; submit first, or describe "
              "it in words.",
    },
    "invalid.duplicate_file": {
        "zh": "这个文件已经收到过了。", "en": "That file was already received.",
    },
    "invalid.location_or_text": {
        "zh": "请发送位置，或用文字写出地址。",
        "en": "Send a location, or type the address.",
    },
    # After closure (satisfaction, reopening) and staff linking (store.conversation.closure).
    "chat.rate.thanks": {
        "zh": "感谢您的评价（{rating}）！信息 {no} 的办理到此结束，欢迎继续反映身边的问题。",
        "en": "Thank you for your rating ({rating})! Report {no} is now complete; you are welcome to report again.",
    },
    "chat.rate.ask_comment": {
        "zh": "很抱歉办理结果没有让您满意。请用文字说明哪些问题还没有解决，我们会重新办理信息 {no}。",
        "en": "We are sorry the outcome did not satisfy you. Tell us in words what is still unresolved, and report {no} will be taken up again.",
    },
    "chat.rate.reopened": {
        "zh": "✅ 已收到您的意见，信息 {no} 已重新进入审核办理，结果会在这里通知您。",
        "en": "✅ Thank you; report {no} has been reopened for review. We will tell you the outcome here.",
    },
    "chat.rate.already": {
        "zh": "信息 {no} 已经评价过了，无需重复评价。发送 /my 可查看最新进度。",
        "en": "Report {no} has already been rated. Send /my to see where it stands.",
    },
    "chat.rate.not_closed": {
        "zh": "信息 {no} 目前不在办结状态，暂时不能评价。发送 /my 可查看最新进度。",
        "en": "Report {no} is not concluded, so it cannot be rated now. Send /my to see where it stands.",
    },
    "chat.rate.not_yours": {
        "zh": "只有该信息的反映人才能评价。",
        "en": "Only the person who filed this report can rate it.",
    },
    "chat.rate.merged": {
        "zh": "您的信息已与 {no} 合并办理，评价由该信息的反映人作出。感谢您的关注！",
        "en": "Your report was handled together with {no}; its rating is given by that report's author. Thank you!",
    },
    "chat.rate.need_text": {
        "zh": "请用文字说明哪些问题还没有解决。",
        "en": "Please describe in words what is still unresolved.",
    },
    "chat.rate.comment_cancelled": {
        "zh": "好的，不再重新办理。如有需要，可再次点击“不满意”。",
        "en": "OK, the report will not be reopened. Tap Not satisfied again if you change your mind.",
    },
    "chat.link.ok": {
        "zh": "✅ 已绑定工作人员账号 {name}。今后紧急信息、转办督办等提醒会发到这里。",
        "en": "✅ Linked to staff account {name}. Alerts (urgent reports, overdue transfers) will come here.",
    },
    "chat.link.unknown": {
        "zh": "没有这个绑定码，或它已经用过。请在后台“我的账号”中生成新的绑定码，然后发送 /link 绑定码。",
        "en": "There is no such link code, or it was used. Make a new one on the console's account page, "
              "then send /link CODE.",
    },
    "chat.link.expired": {
        "zh": "这个绑定码已过期（24 小时内有效）。请在后台“我的账号”中重新生成，然后发送 /link 绑定码。",
        "en": "That link code has expired (codes last 24 hours). Make a new one on the console's account "
              "page, then send /link CODE.",
    },
    "chat.link.disabled": {
        "zh": "这个绑定码所属的工作人员账号已停用，不能绑定。如有疑问请联系管理员。",
        "en": "The staff account of that link code is disabled and cannot be linked. Ask an administrator.",
    },
    "chat.link.usage": {
        "zh": "请发送 /link 绑定码（在后台生成，24 小时内有效）。",
        "en": "Send /link CODE (made in the console, valid for 24 hours).",
    },
    "chat.link.not_here": {
        "zh": "网页聊天供群众反映使用，不能绑定工作人员账号。请在后台“我的账号”中查看可以绑定的渠道。",
        "en": "The web chat is for citizens and cannot be linked to a staff account. The console's account "
              "page lists where you can link one.",
    },
    "btn.rate_cancel": {"zh": "不用了", "en": "Never mind"},
})

# Members and topic calls (membership.py).
register({
    "chat.bind.usage": {
        "zh": "请在 /bind 后面加上工作人员给您的绑定码，例如：/bind K7M2QX9P",
        "en": "Put the binding code staff gave you after /bind, e.g. /bind K7M2QX9P",
    },
    "chat.bind.ok": {
        "zh": "绑定成功：{name}（{role}）。今后您反映的信息会记在您和所在单位名下，发送 /mystats 可查看个人统计。",
        "en": "Bound: {name} ({role}). Your reports now count for you and your unit; send /mystats for your figures.",
    },
    "chat.bind.unknown": {
        "zh": "绑定码不正确，请核对后重新输入（不区分大小写）。",
        "en": "That binding code is not right; check it and try again (case does not matter).",
    },
    "chat.bind.used": {
        "zh": "这个绑定码已经使用过，每个码只能用一次。如需重新绑定，请联系工作人员生成新码。",
        "en": "This binding code has already been used; each code works once. Ask staff for a new one.",
    },
    "chat.bind.expired": {
        "zh": "这个绑定码已过期，请联系工作人员生成新码。",
        "en": "This binding code has expired. Ask staff for a new one.",
    },
    "chat.bind.role.member": {"zh": "政协委员", "en": "CPPCC member"},
    "chat.bind.role.informant": {"zh": "特邀信息员", "en": "special informant"},
    "chat.mystats.member": {
        "zh": "{name}，您的信息统计：\n已报送 {submitted} 条\n被采用 {adopted} 条\n其中被上级（市级及以上）采用 {upward} 条\n获领导批示 {instructions} 次",
        "en": "{name}, your figures:\nSubmitted {submitted}\nAdopted {adopted}\nAdopted above county level {upward}\nLeaders' instructions {instructions}",
    },
    "chat.mystats.citizen": {
        "zh": "您的信息统计：\n已报送 {submitted} 条\n被采用 {adopted} 条\n其中被上级（市级及以上）采用 {upward} 条\n获领导批示 {instructions} 次\n（委员和特邀信息员可用工作人员给的绑定码发送 /bind 绑定身份。）",
        "en": "Your figures:\nSubmitted {submitted}\nAdopted {adopted}\nAdopted above county level {upward}\nLeaders' instructions {instructions}\n(Members and informants: send /bind with the code staff gave you.)",
    },
    "chat.topics.none": {"zh": "目前没有正在征集的选题。", "en": "No topic calls are open right now."},
    "chat.topics.header": {
        "zh": "正在征集的选题（{n} 个），点下方按钮即可围绕选题反映：",
        "en": "Open topic calls ({n}); tap one below to answer it:",
    },
    "chat.topics.row": {
        "zh": "{i}. {title}\n{description}\n截止：{deadline}",
        "en": "{i}. {title}\n{description}\nOpen until {deadline}",
    },
    "chat.topics.unknown": {"zh": "没有找到这个选题。", "en": "That topic call does not exist."},
    "chat.topics.closed": {
        "zh": "选题“{title}”已于 {deadline} 截止，不再接收反映。发送 /topics 查看正在征集的选题，或直接反映其他问题。",
        "en": "The topic call \"{title}\" closed on {deadline}. Send /topics for open calls, or report something else.",
    },
    "chat.topics.closed_at_confirm": {
        "zh": "⚠️ 您填写期间，选题“{title}”已于 {deadline} 截止。这条信息已作为普通信息提交，您填写的内容全部保留，办理不受影响。",
        "en": "⚠️ The topic call \"{title}\" closed at {deadline} while you were writing. Your report was filed as an ordinary report, with everything you wrote.",
    },
    "chat.topics.busy": {
        "zh": "您有一条正在填写的信息。请先完成它，或发送 /cancel 取消后再选择选题。",
        "en": "You have a report in progress. Finish it, or send /cancel, before answering a topic call.",
    },
    "chat.topics.started": {"zh": "📣 选题：{title}", "en": "📣 Topic call: {title}"},
    "chat.language": {
        "zh": "已切换为中文。发送 /lang en 可改用英文。",
        "en": "The chat is now in English. Send /lang zh for Chinese.",
    },
    "chat.language.unknown": {
        "zh": "请发送 /lang zh（中文）或 /lang en（English）。",
        "en": "Send /lang zh (中文) or /lang en (English).",
    },
    "chat.subscribed": {
        "zh": "已订阅选题通知：有新的选题时会发消息给您。发送 /unsubscribe 可退订。",
        "en": "Subscribed: new topic calls will be sent to you. Send /unsubscribe to stop.",
    },
    "chat.unsubscribed": {
        "zh": "已退订选题通知。发送 /subscribe 可重新订阅。",
        "en": "Unsubscribed from topic calls. Send /subscribe to subscribe again.",
    },
    "btn.topics": {"zh": "📣 选题征集", "en": "📣 Topic calls"},
    "chat.bulletin_off": {
        "zh": "好的，以后不再给您发送通报。发送 /bulletin 可恢复接收。",
        "en": "Done: no more bulletin messages. Send /bulletin to get them again.",
    },
    "chat.bulletin_on": {
        "zh": "已恢复接收通报：每期通报会把您的信息报送情况发给您。发送 /nobulletin 可关闭。",
        "en": "Bulletin messages are back on. Send /nobulletin to stop them.",
    },
})

# Returning: where their reports stand (news.py), and the form taken up again.
register({
    "chat.welcome_back": {
        "zh": "您好，欢迎回来！", "en": "Welcome back!",
    },
    "chat.form_nav": {
        "zh": "随时发送 /back 返回上一步，/cancel 取消。",
        "en": "Send /back to go back or /cancel to stop at any time.",
    },
    "chat.draft_resumed": {
        "zh": "您上次填写的信息还在（已填 {n} 项），请接着填写：",
        "en": "Your unfinished report is still here ({n} answers so far); let's go on:",
    },
    # A marked report on a foreign carrier (store.reports.marks.withheld): no title, text or place.
    "chat.withheld.title": {"zh": "〔{mark}信息，标题不在此显示〕", "en": "[{mark}: title not shown here]"},
    "chat.withheld.question": {
        "zh": "（问题不在此显示，请打开链接查看：{link}）",
        "en": "(The question is not shown here; read it at: {link})",
    },
    "chat.news.withheld_row": {
        "zh": "{mark} {no}\n当前状态：{status}（{date}）\n详细内容（仅限本人查看）：{link}",
        "en": "{mark} {no}\nNow: {status} ({date})\nDetails (for you only): {link}",
    },
    "chat.news.one_withheld": {
        "zh": "{no} 现在的状态：{status}。详细内容（仅限本人查看）：{link}",
        "en": "Report {no} now: {status}. Details (for you only): {link}",
    },
    "chat.news.header": {"zh": "您反映的信息最新进展：", "en": "The latest on your reports:"},
    "chat.news.row": {"zh": "{mark} {no}《{title}》\n{news}（{date}）", "en": "{mark} {no} \"{title}\"\n{news} ({date})"},
    "chat.news.more": {
        "zh": "另有 {n} 条较早的信息，点“我的反映”查看全部。",
        "en": "{n} older report(s): tap My reports to see them all.",
    },
    "chat.news.footer": {
        "zh": "要反映新的问题，请点“反映新问题”。",
        "en": "To report something new, tap Report.",
    },
    "chat.news.returned": {"zh": "需要您补充：{note}", "en": "Please add: {note}"},
    "chat.news.pending": {"zh": "{status}", "en": "{status}"},
    "chat.news.adopted": {"zh": "已被采用", "en": "Adopted"},
    "chat.news.adopted_at": {"zh": "已被{level}采用", "en": "Adopted by the {level}"},
    "chat.news.not_adopted": {"zh": "暂不采用。原因：{note}", "en": "Not adopted. Reason: {note}"},
    "chat.news.referred": {
        "zh": "暂不采用，已函送{department}参考", "en": "Not adopted; passed to {department} for reference",
    },
    "chat.news.referred_replied": {
        "zh": "暂不采用，函送{department}参考后，该部门回复：{note}",
        "en": "Not adopted; passed to {department} for reference, who replied: {note}",
    },
    "chat.news.merged": {
        "zh": "与其他群众反映的相同问题合并办理", "en": "Handled together with a matching report",
    },
    "chat.news.transferred": {"zh": "已转交{department}办理", "en": "Passed to {department}"},
    "chat.news.handled": {"zh": "办理回复：{note}", "en": "The department replied: {note}"},
    "chat.news.closed": {"zh": "已办结", "en": "Concluded"},
    "chat.news.rated": {"zh": "已办结，您的评价：{rating}", "en": "Concluded; you rated it: {rating}"},
    "chat.news.expired": {
        "zh": "因长时间未补充，已办结", "en": "Closed: the requested information did not arrive",
    },
    "chat.news.instructed": {"zh": "；获{leader}批示", "en": "; instructed on by {leader}"},
    "chat.news.one": {
        "zh": "{no}《{title}》现在的状态：{news}", "en": "Report {no} \"{title}\" now: {news}",
    },
})

# The same messages for channels without typed commands (the web chat).
register({
    "chat.form_nav.buttons": {
        "zh": "每个问题下面都有“返回上一步”和“取消”。",
        "en": "Every question has Back and Cancel below it.",
    },
    "chat.help.buttons": {
        "zh": "请点按钮操作：“反映新问题”开始反映，“我的反映”查看办理进度。填写时每个问题下面都有“返回上一步”和“取消”。",
        "en": "Use the buttons: Report to start a report, My reports to see where yours stand. Every question has Back and Cancel below it.",
    },
    "chat.receipt.buttons": {
        "zh": "✅ 提交成功！\n信息编号：{no}\n标题：{title}\n\n我们会尽快审核，结果会在这里通知您。{expect}点“我的反映”可随时查看办理进度。",
        "en": "✅ Submitted!\nTracking number: {no}\nTitle: {title}\n\nWe will review it soon and tell you the outcome here. {expect} Tap My reports to follow it.",
    },
    "chat.supplement.closed.buttons": {
        "zh": "信息 {no} 目前不需要补充（可能已经处理完毕）。点“我的反映”查看最新进度。",
        "en": "Report {no} needs no more information now (it may have been settled). Tap My reports to see where it stands.",
    },
    "chat.rate.already.buttons": {
        "zh": "信息 {no} 已经评价过了，无需重复评价。点“我的反映”可查看最新进度。",
        "en": "Report {no} has already been rated. Tap My reports to see where it stands.",
    },
    "chat.rate.not_closed.buttons": {
        "zh": "信息 {no} 目前不在办结状态，暂时不能评价。点“我的反映”可查看最新进度。",
        "en": "Report {no} is not concluded, so it cannot be rated now. Tap My reports to see where it stands.",
    },
    "chat.bind.ok.buttons": {
        "zh": "绑定成功：{name}（{role}）。今后您反映的信息会记在您和所在单位名下。",
        "en": "Bound: {name} ({role}). Your reports now count for you and your unit.",
    },
    "chat.mystats.citizen.buttons": {
        "zh": "您的信息统计：\n已报送 {submitted} 条\n被采用 {adopted} 条\n其中被上级（市级及以上）采用 {upward} 条\n获领导批示 {instructions} 次",
        "en": "Your figures:\nSubmitted {submitted}\nAdopted {adopted}\nAdopted above county level {upward}\nLeaders' instructions {instructions}",
    },
    "chat.topics.closed.buttons": {
        "zh": "选题“{title}”已于 {deadline} 截止，不再接收反映。点“选题征集”查看正在征集的选题，或直接反映其他问题。",
        "en": "The topic call \"{title}\" closed on {deadline}. Tap Topic calls for open ones, or report something else.",
    },
    "chat.topics.busy.buttons": {
        "zh": "您有一条正在填写的信息。请先完成它，或点“取消”后再选择选题。",
        "en": "You have a report in progress. Finish it, or tap Cancel, before answering a topic call.",
    },
    "chat.language.buttons": {"zh": "已切换为中文。", "en": "The chat is now in English."},
    "chat.language.unknown.buttons": {
        "zh": "没有这种语言：可以用中文或 English。", "en": "That language is not available: 中文 or English.",
    },
    "chat.subscribed.buttons": {
        "zh": "已订阅选题通知：有新的选题时会在这里告诉您。",
        "en": "Subscribed: new topic calls will be shown here.",
    },
    "chat.unsubscribed.buttons": {
        "zh": "已退订选题通知。", "en": "Unsubscribed from topic calls.",
    },
})

# A conversation whose stored state could not be read, and a side errand kept.
register({
    "chat.recovered": {
        "zh": "抱歉，刚才的对话无法接着进行，已回到主菜单。请重新选择要做的事。",
        "en": "Sorry, the conversation could not go on from where it stood; here is the menu again.",
    },
    "chat.recovered_draft": {
        "zh": "抱歉，刚才的对话无法接着进行，已回到主菜单。您已填写的 {n} 项内容都还在：点“反映新问题”，再点“继续填写”即可接着填。",
        "en": "Sorry, the conversation could not go on from where it stood; here is the menu again. Your {n} answers are kept: tap Report, then Continue.",
    },
    "chat.side_busy": {
        "zh": "您正在补充或评价一条信息。请先完成，或点“取消”后再反映新问题。",
        "en": "You are adding to or rating a report. Finish it, or tap Cancel, before reporting something new.",
    },
})
