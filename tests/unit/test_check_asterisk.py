"""``callcenter check-asterisk``: the shipped Asterisk config passes, and each
dangerous or broken line of a copy of it is refused on its own, with the file and
line to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callcenter.ami.tracker import _HANDLERS, wants_frame
from callcenter.asterisk_check import (
    ACL,
    EXTENSIONS,
    MANAGER,
    PJSIP,
    TRACKED_EVENTS,
    Finding,
    _passes,
    _python_regex,
    _sample_event,
    check_directory,
    parse_conf,
)
from callcenter.cli import app

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "asterisk"


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    target = tmp_path / "asterisk"
    shutil.copytree(SHIPPED, target)
    return target


def _line_of(path: Path, text: str) -> int:
    """The 1-based number of the line that reads ``text`` (surrounding blanks aside)."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    assert lines.count(text) == 1, f"{text!r} is not one line of {path.name}"
    return lines.index(text) + 1


def _edit(path: Path, old: str, new: str | None) -> int:
    """Replace the line reading ``old`` with ``new`` (None: delete it); its number."""
    number = _line_of(path, old)
    lines = path.read_text().splitlines()
    if new is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new
    path.write_text("\n".join(lines) + "\n")
    return number


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, "\n".join(map(str, findings))
    return findings[0]


def test_the_shipped_config_passes() -> None:
    assert check_directory(SHIPPED) == []


def test_the_linters_event_list_is_the_trackers() -> None:
    assert set(TRACKED_EVENTS) == set(_HANDLERS)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("read = system,call,user,dialplan", "read = all", "read = all"),
        ("read = system,call,user,dialplan", "read = call, ALL", "read = all"),
        ("write = originate,call,reporting", "write = all", "write = all"),
        ("write = originate,call,reporting", "write = originate,call,system", "system would"),
        ("write = originate,call,reporting", "write = originate,command", "command would"),
        ("write = originate,call,reporting", "write = config,call", "config would"),
        ("permit = 172.16.0.0/255.240.0.0", "permit = 0.0.0.0/0", "lets in every address"),
        ("permit = 172.16.0.0/255.240.0.0", "permit = 0.0.0.0/0.0.0.0", "lets in every address"),
        ("permit = 172.16.0.0/255.240.0.0", "permit = 16.0.0.0/4", "(/4) is too wide"),
        ("permit = 172.16.0.0/255.240.0.0", "permit = ::/0", "lets in every address"),
        ("deny = 0.0.0.0/0.0.0.0", "deny = 0.0.0.0/0.0.0.0,!0.0.0.0/0", "= !0.0.0.0/0 lets in"),
        ("permit = 172.16.0.0/255.240.0.0", "permit = 172.16.0.0/12, 16.0.0.0/4", "(/4) is too"),
        ("permit = 172.16.0.0/255.240.0.0", "permit = 172.16.0.0/255.0.255.0", "not an address"),
        ("deny = 0.0.0.0/0.0.0.0", "deny = pbx.example.com", "not an address"),
    ],
)
def test_a_dangerous_manager_line_is_refused_at_that_line(
    conf_dir: Path, old: str, new: str, expected: str
) -> None:
    line = _edit(conf_dir / MANAGER, old, new)
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (MANAGER, line)
    assert "[callcenter]" in finding.message
    assert expected in finding.message


@pytest.mark.parametrize("replacement", [None, "permit = 10.0.0.0/8", "deny = !10.0.0.0/8"])
def test_a_user_without_deny_is_refused_at_its_section(
    conf_dir: Path, replacement: str | None
) -> None:
    _edit(conf_dir / MANAGER, "deny = 0.0.0.0/0.0.0.0", replacement)
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (MANAGER, _line_of(conf_dir / MANAGER, "[callcenter]"))
    assert "no deny line" in finding.message


def test_a_user_without_permit_is_refused_at_its_section(conf_dir: Path) -> None:
    _edit(conf_dir / MANAGER, "permit = 127.0.0.1/255.255.255.255", None)
    _edit(conf_dir / MANAGER, "permit = 172.16.0.0/255.240.0.0", "permit = !172.16.0.0/12")
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (MANAGER, _line_of(conf_dir / MANAGER, "[callcenter]"))
    assert "no permit line" in finding.message


def test_a_missing_manager_conf_is_a_finding(conf_dir: Path) -> None:
    (conf_dir / MANAGER).unlink()
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (MANAGER, 1)
    assert "missing" in finding.message


def test_an_inherited_privilege_is_refused_at_the_templates_line(conf_dir: Path) -> None:
    with (conf_dir / MANAGER).open("a") as f:
        f.write(
            "\n[ami-base](!)\nread = all\ndeny = 0.0.0.0/0.0.0.0\n"
            "permit = 10.0.0.0/255.0.0.0\n\n[ops](ami-base)\nsecret = s\n"
        )
    finding = _only(check_directory(conf_dir))
    assert finding.line == _line_of(conf_dir / MANAGER, "read = all")
    assert "AMI user [ops]: read = all" in finding.message


def test_commented_lines_are_not_read(conf_dir: Path) -> None:
    _edit(
        conf_dir / MANAGER,
        "write = originate,call,reporting",
        "write = originate,call,reporting ; not write = system\n;write = all\n"
        ";-- an old block:\nread = all\nwrite = system --;\nsecret = a\\;b",
    )
    assert check_directory(conf_dir) == []


def test_an_unknown_template_is_a_finding(conf_dir: Path) -> None:
    line = _edit(conf_dir / MANAGER, "[callcenter]", "[callcenter](no-such-template)")
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (MANAGER, line)
    assert "[no-such-template]" in finding.message


def test_an_eventfilter_that_drops_a_tracked_event_is_refused(conf_dir: Path) -> None:
    manager = conf_dir / MANAGER
    old = next(
        line.strip() for line in manager.read_text().splitlines() if "ContactStatus|" in line
    )
    line = _edit(manager, old, old.replace("ContactStatus|", ""))
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (MANAGER, line)
    assert "drop ContactStatus," in finding.message


def test_the_shipped_eventfilters_keep_what_the_tracker_reads_and_drop_the_rest() -> None:
    conf = parse_conf(SHIPPED, MANAGER)
    assert conf is not None
    user = next(s for s in conf.sections if s.name == "callcenter")
    patterns = [_python_regex(e.value) for e in user.entries if e.key == "eventfilter"]
    include = [p for p in patterns if p is not None]
    assert len(include) == len(patterns) == 2
    for name in TRACKED_EVENTS:
        assert _passes(_sample_event(name), include, [])
    noise = [
        "Newexten",
        "NewCallerid",
        "NewConnectedLine",
        "LocalBridge",
        "SoftHangupRequest",
        "HangupHandlerPush",
        "BridgeCreate",
    ]
    for name in noise:
        frame = _sample_event(name)
        assert not wants_frame(frame.encode())
        assert not _passes(frame, include, [])
    other_var = "Event: VarSet\r\nPrivilege: dialplan,all\r\nVariable: BRIDGEPEER\r\n\r\n"
    assert not _passes(other_var, include, [])


def test_a_missing_context_is_refused(conf_dir: Path) -> None:
    extensions = conf_dir / EXTENSIONS
    lines = extensions.read_text().splitlines()
    start = lines.index("[callcenter-survey]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("["))
    extensions.write_text("\n".join(lines[:start] + lines[end:]) + "\n")
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (EXTENSIONS, 1)
    assert "[callcenter-survey] is missing" in finding.message


def test_a_context_found_through_an_include_is_there(conf_dir: Path) -> None:
    extensions = conf_dir / EXTENSIONS
    lines = extensions.read_text().splitlines()
    start = lines.index("[callcenter-survey]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("["))
    (conf_dir / "extensions-survey.conf").write_text("\n".join(lines[start:end]) + "\n")
    extensions.write_text(
        "\n".join([*lines[:start], '#include "extensions-survey.conf"', *lines[end:]]) + "\n"
    )
    assert check_directory(conf_dir) == []
    (conf_dir / "extensions-survey.conf").unlink()
    findings = check_directory(conf_dir)
    assert [(f.file, f.line) for f in findings] == [(EXTENSIONS, 1), (EXTENSIONS, start + 1)]


def test_an_inbound_context_that_never_enqueues_is_refused(conf_dir: Path) -> None:
    extensions = conf_dir / EXTENSIONS
    _edit(
        extensions,
        "same => n,UserEvent(CallCenterEnqueue,Queue: ${CC_QUEUE},Account: ${CC_ACCOUNT})",
        " same => n,NoOp(enqueue)",
    )
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (
        EXTENSIONS,
        _line_of(extensions, "[callcenter-inbound]"),
    )
    assert "CallCenterEnqueue" in finding.message


def test_a_connect_context_without_bridge_is_refused(conf_dir: Path) -> None:
    extensions = conf_dir / EXTENSIONS
    old = next(line.strip() for line in extensions.read_text().splitlines() if ",Bridge(" in line)
    _edit(extensions, old, " same => n,BridgeWait()")
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (
        EXTENSIONS,
        _line_of(extensions, "[callcenter-connect]"),
    )
    assert "Bridge()" in finding.message


def test_an_agent_aor_without_qualify_is_refused(conf_dir: Path) -> None:
    pjsip = conf_dir / PJSIP
    _edit(pjsip, "qualify_frequency = 5", None)
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (PJSIP, _line_of(pjsip, "[agent01](agent-aor)"))
    assert "aor [agent01] of agent endpoint [agent01] has no qualify_frequency" in finding.message


def test_an_agent_aor_with_qualify_off_is_refused_at_that_line(conf_dir: Path) -> None:
    line = _edit(conf_dir / PJSIP, "qualify_frequency = 5", "qualify_frequency = 0")
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (PJSIP, line)
    assert "turns qualify off" in finding.message


def test_a_trunk_without_qualify_is_not_an_agent(conf_dir: Path) -> None:
    _edit(conf_dir / PJSIP, "qualify_frequency = 60", None)
    assert check_directory(conf_dir) == []


def test_no_pjsip_conf_is_fine(conf_dir: Path) -> None:
    (conf_dir / PJSIP).unlink()
    assert check_directory(conf_dir) == []


def test_the_command_prints_findings_and_fails(conf_dir: Path) -> None:
    line = _edit(conf_dir / MANAGER, "write = originate,call,reporting", "write = all")
    result = CliRunner().invoke(app, ["check-asterisk", str(conf_dir)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"manager.conf:{line}: AMI user [callcenter]: write = all")
    assert result.output.count("\n") == 1


def test_the_command_passes_the_shipped_config() -> None:
    result = CliRunner().invoke(app, ["check-asterisk", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("ok")


NAMED_ACL = """[callcenter-hosts]
deny = 0.0.0.0/0.0.0.0
permit = 10.20.0.0/255.255.0.0
"""


def _named_acl_only(conf_dir: Path, acl_conf: str | None) -> None:
    """The [callcenter] user's own deny/permit lines replaced by ``acl = ...``."""
    if acl_conf is not None:
        (conf_dir / ACL).write_text(acl_conf)
    manager = conf_dir / MANAGER
    _edit(manager, "deny = 0.0.0.0/0.0.0.0", "acl = callcenter-hosts")
    _edit(manager, "permit = 127.0.0.1/255.255.255.255", None)
    _edit(manager, "permit = 172.16.0.0/255.240.0.0", None)


def test_a_user_protected_by_a_named_acl_passes(conf_dir: Path) -> None:
    _named_acl_only(conf_dir, NAMED_ACL)
    assert check_directory(conf_dir) == []


def test_a_wide_permit_in_a_named_acl_is_refused_at_its_line_in_acl_conf(conf_dir: Path) -> None:
    _named_acl_only(conf_dir, NAMED_ACL.replace("10.20.0.0/255.255.0.0", "0.0.0.0/0"))
    finding = _only(check_directory(conf_dir))
    assert (finding.file, finding.line) == (ACL, 3)
    assert "lets in every address" in finding.message and "[callcenter]" in finding.message


@pytest.mark.parametrize("acl_conf", [None, "[other-hosts]\ndeny = 0.0.0.0/0.0.0.0\n"])
def test_a_named_acl_that_acl_conf_lacks_is_refused(conf_dir: Path, acl_conf: str | None) -> None:
    _named_acl_only(conf_dir, acl_conf)
    findings = check_directory(conf_dir)
    line = _line_of(conf_dir / MANAGER, "acl = callcenter-hosts")
    assert any(
        (f.file, f.line) == (MANAGER, line) and "names no [callcenter-hosts]" in f.message
        for f in findings
    ), findings
    assert any("no deny line" in f.message for f in findings), "and nothing protects it"
