"""Version 1 of each published rule document (R5.2), so that a new platform has something to accept.

Operators publish their own texts as new versions from the admin; versions are never edited.
"""

from django.db import migrations

DOCUMENTS = [
    ("service-agreement", "服务协议", (
        "一、本平台依据《互联网群组信息服务管理规定》提供群组信息服务。\n"
        "二、用户应进行真实身份信息认证（后台实名、前台自愿），未认证的用户不能发布信息、创建群组。\n"
        "三、用户不得利用群组制作、复制、发布、传播法律法规禁止的信息内容。\n"
        "四、平台对违法违规行为依法依约采取警示整改、限制功能、暂停使用、关闭群组等处置措施，并保存记录、向主管部门报告。\n"
        "五、网络日志依法留存不少于六个月。"
    )),
    ("convention", "平台公约", (
        "一、文明交流，尊重他人，不发布辱骂、歧视、骚扰内容。\n"
        "二、不传播谣言、诈骗、赌博、色情、暴力等违法和不良信息。\n"
        "三、不人肉搜索、不泄露他人隐私。\n"
        "四、群主、管理员履行管理责任，维护群组秩序。"
    )),
    ("management-rules", "群组管理规则", (
        "一、群组按性质分类、按规模分级管理。\n二、群主对群组负管理责任，可设置管理员协助管理。\n"
        "三、群组成员可对违规信息和行为进行投诉举报，平台在规定时限内处理并反馈结果。"
    )),
    ("privacy-notice", "隐私政策", (
        "我们收集手机号码用于注册登录，收集真实姓名和身份证号码用于法律要求的实名认证。"
        "身份信息加密存储，仅经授权人员在说明理由后方可查看，每次查看均被记录。"
        "注销账号后，依法需要留存的记录在留存期满后删除。"
    )),
    ("sensitive-notice", "敏感个人信息处理告知", (
        "身份证号码属于敏感个人信息。我们仅为履行实名认证的法定义务而处理，加密存储，页面中仅显示部分号码；"
        "仅经授权的合规人员在说明理由后方可查看完整信息，每次查看均记录审计日志。"
        "您可以拒绝提供，但将无法发布信息或创建群组。"
    )),
]


def forwards(apps, schema_editor):
    AgreementDocument = apps.get_model("identity", "AgreementDocument")
    for kind, title, body in DOCUMENTS:
        AgreementDocument.objects.get_or_create(kind=kind, version=1, defaults={"title": title, "body": body})


class Migration(migrations.Migration):
    dependencies = [("identity", "0002_accountrestriction_agreementacceptance_and_more")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
