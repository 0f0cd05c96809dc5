"""The roles an account can have, as spelt on the command line, with their Chinese names.

三员分立: the system, security and audit administrators are three separate roles, and none of them
is a duty officer, a leader or an analyst.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DUTY = "duty"  # 值班员: the boards, acknowledges alerts
    LEADER = "leader"  # 领导: the boards and the tablet, read-only
    ANALYST = "analyst"  # 分析员: analysis and exports
    SYSADMIN = "sysadmin"  # 系统管理员: accounts and screens
    SECADMIN = "secadmin"  # 安全管理员: roles, policies, unlocks
    AUDITOR = "auditor"  # 审计管理员: reads and exports the audit log, nothing else
    SCREEN = "screen"  # 大屏: an unattended wall screen's credential (`pingan screens`), never an account's role


ROLE_ZH: dict[Role, str] = {
    Role.DUTY: "值班员", Role.LEADER: "领导", Role.ANALYST: "分析员",
    Role.SYSADMIN: "系统管理员", Role.SECADMIN: "安全管理员", Role.AUDITOR: "审计管理员",
    Role.SCREEN: "大屏",
}
ACCOUNT_ROLES = tuple(r for r in Role if r is not Role.SCREEN)  # what `pingan users` may give an account
