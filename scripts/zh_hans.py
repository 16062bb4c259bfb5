"""Fill the zh-hans catalogue from this table, then run compilemessages (`make messages`)."""

import re
import sys
from pathlib import Path

ZH = {
    "occurred at": "发生时间",
    "event type": "事件类型",
    "actor kind": "操作者类型",
    "door": "入口",
    "IP address": "IP 地址",
    "source port": "源端口",
    "target type": "对象类型",
    "target id": "对象编号",
    "data": "数据",
    "audit event": "审计事件",
    "audit events": "审计事件",
    "Simplified Chinese": "简体中文",
    "English": "英文",
    "The frame is not valid JSON.": "消息帧不是有效的 JSON。",
    "A frame must be a JSON object.": "消息帧必须是 JSON 对象。",
    "Unknown frame type.": "未知的消息帧类型。",
    "No such group, or you are not a member.": "群组不存在，或您不是该群成员。",
    "'after' must be a sequence number.": "“after” 必须是消息序号。",
    "Group name": "群名称",
    "e.g. Neighbourhood book club": "例如：小区读书会",
    "Description": "群简介",
    "Message": "消息",
    "group code": "群编号",
    "group name": "群名称",
    "description": "简介",
    "created at": "创建时间",
    "chat group": "群组",
    "chat groups": "群组",
    "Can manage the group (owner or admin)": "可管理群组（群主或管理员）",
    "Owner": "群主",
    "Admin": "管理员",
    "Member": "成员",
    "role": "身份",
    "joined at": "加入时间",
    "left at": "退出时间",
    "membership": "群成员",
    "memberships": "群成员",
    "sequence number": "序号",
    "client message id": "客户端消息编号",
    "text": "内容",
    "sent at": "发送时间",
    "message": "消息",
    "messages": "消息",
    "You are not a member of this group.": "您不是该群成员。",
    "Please sign in first.": "请先登录。",
    "This account is not active.": "该账号未启用。",
    "This invitation link is no longer valid. Ask for a new one.": "该邀请链接已失效，请向群主或管理员索取新链接。",
    "You are already a member of this group.": "您已是该群成员。",
    "The owner cannot leave the group; transfer ownership first.": "群主不能直接退群，请先转让群主。",
    "Only the owner and admins can manage the invitation link.": "只有群主和管理员可以管理邀请链接。",
    "Only the owner can appoint admins.": "只有群主可以任命管理员。",
    "Only a member of the group can become an admin.": "只有本群成员才能成为管理员。",
    "This member is already an admin or the owner.": "该成员已是管理员或群主。",
    "%(field)s cannot be empty.": "%(field)s不能为空。",
    "%(field)s is too long: at most %(max)d characters.": "%(field)s过长：最多 %(max)d 个字符。",
    "%(field)s contains characters that cannot be shown.": "%(field)s包含无法显示的字符。",
    "A client message id of 1 to 64 printable characters is required.": "需要 1 到 64 个可打印字符的客户端消息编号。",
    "This client message id was already used in another group.": "该客户端消息编号已在其他群中使用。",
    "Group created. Invite people with the group's link.": "群组已创建。可通过群邀请链接邀请成员。",
    "The message could not be sent: it is empty or too long.": "消息未发送：内容为空或过长。",
    "A new invitation link was made; the old one no longer works.": "已生成新的邀请链接，旧链接已失效。",
    "Welcome to %(name)s.": "欢迎加入 %(name)s。",
    "You left %(name)s.": "您已退出 %(name)s。",
    "Account name": "账号名",
    "Letters, digits and @/./+/-/_ only; used to sign in.": "只能包含字母、数字和 @/./+/-/_，用于登录。",
    "Nickname": "昵称",
    "What other members see. Never your real name unless you want it.": "其他成员看到的名字。除非您愿意，不必使用真实姓名。",
    "Password": "密码",
    "Password again": "确认密码",
    "This account name is taken. Please choose another.": "该账号名已被使用，请换一个。",
    "The two passwords differ.": "两次输入的密码不一致。",
    "nickname": "昵称",
    "user": "用户",
    "users": "用户",
    "You are already signed in.": "您已登录。",
    "Not allowed": "无权操作",
    "You do not have permission to do this.": "您没有执行此操作的权限。",
    "Back to my groups": "返回我的群组",
    "Not found": "未找到",
    "This page does not exist, or you cannot see it.": "该页面不存在，或您无权查看。",
    "Qunzu": "群组",
    "Qunzu group chat": "群组聊天平台",
    "My groups": "我的群组",
    "New group": "新建群组",
    "Administration": "后台管理",
    "Signed in as": "当前登录",
    "Sign out": "退出登录",
    "Sign in": "登录",
    "Sign up": "注册",
    "New": "新建",
    "No groups yet. Create one or open an invitation link.": "还没有群组。新建一个，或打开邀请链接加入。",
    "Group code": "群编号",
    "Invite": "邀请",
    "Leave this group?": "确定退出该群？",
    "Leave": "退群",
    "Connection lost. Reconnecting…": "连接已断开，正在重新连接…",
    "Sending…": "发送中…",
    "Not sent": "未发送",
    "Retry": "重试",
    "joined the group": "加入了群聊",
    "left the group": "退出了群聊",
    "No messages yet. Say hello!": "还没有消息，打个招呼吧！",
    "Write a message. Enter sends, Shift+Enter starts a new line.": "输入消息。回车发送，Shift+回车换行。",
    "Send": "发送",
    "Choose a group on the left, or create a new one.": "在左侧选择一个群组，或新建群组。",
    "Members": "成员",
    "You will be the group's owner. Every group gets a unique group code.": "您将成为群主。每个群组都有唯一的群编号。",
    "Create group": "创建群组",
    "Invite to": "邀请加入",
    "Anyone with this link can join the group after signing in.": "任何人登录后都可通过此链接加入群组。",
    "Invitation link": "邀请链接",
    "Copy": "复制",
    "Make a new link (the old one stops working)": "生成新链接（旧链接将失效）",
    "Back to the chat": "返回聊天",
    "Copied": "已复制",
    "Join": "加入",
    "You are invited to join": "您受邀加入",
    "Created": "创建于",
    "Sign in or create an account to join.": "请登录或注册后加入。",
    "Create an account": "注册账号",
    "Join group": "加入群组",
    "Group chat, run responsibly": "负责任的群组聊天",
    "Chat live with your groups. Owners keep order with real management tools; the platform keeps the rules "
    "of the Internet Group Information Service Management Provisions.": "与群友实时聊天。群主用完善的管理工具维护秩序，平台遵守《互联网群组信息服务管理规定》。",
    "New here?": "第一次来？",
    "Other members only ever see your nickname.": "其他成员只会看到您的昵称。",
    "Already have an account?": "已有账号？",
    "Something went wrong; please try again.": "出了点问题，请重试。",
}
PLURALS = {"%(counter)s member": "%(counter)s 名成员"}


def _unquote(block: str) -> str:
    return (
        "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))
        .encode()
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fill(path: Path) -> list[str]:
    entries = path.read_text(encoding="utf-8").split("\n\n")
    missing = []
    for index, entry in enumerate(entries):
        match = re.search(r'^msgid ((?:".*"\n?)+)', entry, re.M)
        if not match or entry.startswith("# SOME DESCRIPTIVE"):
            continue
        msgid = _unquote(match.group(1))
        if not msgid:
            continue
        if "msgid_plural" in entry:
            zh = PLURALS.get(msgid)
            if zh is None:
                missing.append(msgid)
                continue
            entry = re.sub(r'msgstr\[0\] ".*"', f"msgstr[0] {_quote(zh)}", entry)
            entry = re.sub(r'msgstr\[1\] ".*"', f"msgstr[1] {_quote(zh)}", entry)
        else:
            zh = ZH.get(msgid)
            if zh is None:
                missing.append(msgid)
                continue
            entry = re.sub(r'^msgstr ((?:".*"\n?)+)', f"msgstr {_quote(zh)}", entry, flags=re.M)
        entries[index] = entry.replace("#, fuzzy\n", "")
    text = "\n\n".join(entries)
    text = text.replace(
        '"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"', '"Plural-Forms: nplurals=1; plural=0;\\n"'
    )
    text = text.replace(
        '"Content-Type: text/plain; charset=CHARSET\\n"', '"Content-Type: text/plain; charset=UTF-8\\n"'
    )
    path.write_text(text, encoding="utf-8")
    return missing


if __name__ == "__main__":
    missing = fill(Path(__file__).resolve().parents[1] / "locale/zh_Hans/LC_MESSAGES/django.po")
    if missing:
        print("untranslated:", *missing, sep="\n  ")
        sys.exit(1)
