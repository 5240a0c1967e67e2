"""tg.profile: the per-op table counts exactly the ops that ran, forward and backward."""

from __future__ import annotations

import pytest

import tinygpt as tg
from tinygpt.autograd import function
from tinygpt.profiler import format_bytes


def test_forward_and_backward_counts(device):
    x = tg.ones(4, 3, device=device, requires_grad=True)
    w = tg.ones(3, 2, device=device, requires_grad=True)
    with tg.profile(show=False) as prof:
        h = x @ w  # Matmul
        h = h * h  # Mul
        h = h * h  # Mul
        loss = h.sum()  # Sum
        loss.backward()
    counts = {row.name: row.calls for row in prof.rows()}
    assert counts == {
        "Matmul": 1,
        "Mul": 2,
        "Sum": 1,
        "SumBackward": 1,
        "MulBackward": 2,
        "MatmulBackward": 1,
    }


def test_broadcasting_shows_the_expand_op(device):
    a = tg.ones(4, 3, device=device)
    b = tg.ones(3, device=device)
    with tg.profile(show=False) as prof:
        a + b
        a + a
    assert prof.calls("Add") == 2
    assert prof.calls("Expand") == 1  # b was broadcast to (4, 3) by one explicit op
    assert prof.calls("Sub") == 0


def test_bytes_count_new_buffers_not_views(device):
    a = tg.ones(8, 4, device=device)  # float32: 128 bytes
    with tg.profile(show=False) as prof:
        b = a + a  # a new (8, 4) buffer
        b.reshape(4, 8).permute(1, 0)  # views: no new memory
        b.sum()  # a 0-d float32
    stats = {row.name: row for row in prof.rows()}
    assert stats["Add"].bytes == 8 * 4 * 4
    assert stats["Reshape"].bytes == 0
    assert stats["Permute"].bytes == 0
    assert stats["Sum"].bytes == 4


def test_table_text(device, capsys):
    x = tg.ones(5, device=device, requires_grad=True)
    with tg.profile(limit=1):
        (x.exp() * 3.0).sum().backward()
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split() == ["op", "calls", "total", "ms", "share", "allocated"]
    assert len(lines) == 5  # header, one row (limit=1), "... more", total, ops took
    assert lines[2] == "... 5 more ops (prof.table(limit=None))"
    assert lines[3].split()[:2] == ["total", "6"]
    assert lines[3].split()[3] == "100.0%"
    assert lines[4].startswith("ops took ")


def test_shares_add_up_to_100(device):
    x = tg.randn(16, 16, device=device, requires_grad=True)
    with tg.profile(show=False) as prof:
        (x @ x).tanh().sum().backward()
    body = prof.table(limit=None).splitlines()[1:-2]
    shares = [float(line.split()[3].rstrip("%")) for line in body]
    assert sum(shares) == pytest.approx(100.0, abs=0.5)


def test_closing_removes_the_hook_even_after_an_error(device):
    with pytest.raises(ValueError):
        with tg.profile(show=False):
            assert function.profile_hook is not None
            raise ValueError("boom")
    assert function.profile_hook is None


def test_nested_profiles_record_into_the_innermost(device):
    x = tg.ones(2, device=device)
    with tg.profile(show=False) as outer:
        x + x
        with tg.profile(show=False) as inner:
            x * x
        x - x
    assert (outer.calls("Add"), outer.calls("Mul"), outer.calls("Sub")) == (1, 0, 1)
    assert (inner.calls("Add"), inner.calls("Mul")) == (0, 1)
    assert function.profile_hook is None


def test_no_grad_ops_are_still_counted(device):
    x = tg.ones(3, device=device, requires_grad=True)
    with tg.no_grad(), tg.profile(show=False) as prof:
        x * 2.0
    assert prof.calls("ScalarOp") == 1


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (3 * 1024**2, "3.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text
