"""`aksi users add` and `import` warn (and still add) when a region gets more holders of a
role than the definition's `count` says; on every backend."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.cli import main

from .support import WORKFLOWS, lifecycle_only

KEC = "19.01.01"  # the Camat: approver, count 1 in workflows/kecamatan.yaml
WARNING = (f"Peringatan: {KEC} kini punya 2 pemegang peran approver (Camat); definisi "
           "menyebut 1 orang")


@pytest.fixture(scope="module")
def workflows(tmp_path_factory):
    """The shipped roles and lifecycles without the forms: loaded in a fraction of the time."""
    return str(lifecycle_only(WORKFLOWS, tmp_path_factory.mktemp("counts")))


def aksi(db, workflows: str, *args: str):
    result = CliRunner().invoke(main, ["--db", db.url, "--workflows", workflows, *args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


def test_add_warns_when_a_region_has_more_holders_than_the_count(regions, workflows):
    def add(*args: str):
        return aksi(regions, workflows, "users", "add", *args)

    assert "Peringatan" not in add("camat", "--role", "approver", "--region", KEC).stderr
    second = add("wakil", "--role", "approver", "--region", KEC)
    assert second.stdout == f"wakil: approver@{KEC}\n"  # added all the same
    assert WARNING in second.stderr
    assert "Peringatan" not in add("wakil", "--name", "Wakil Camat").stderr  # no new holder
    other = add("camat2", "--role", "approver", "--region", "19.01.02")
    assert "Peringatan" not in other.stderr  # another region, its first Camat


def test_import_warns_for_the_regions_it_pushes_past_the_count(regions, workflows, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("username,role,region\n"
                    f"camat,approver,{KEC}\n"
                    f"wakil,approver,{KEC}\n"
                    f"op1,operator,{KEC}\nop2,operator,{KEC}\nop3,operator,{KEC}\n",
                    encoding="utf-8")
    result = aksi(regions, workflows, "users", "import", str(path))
    assert "5 pengguna" in result.stdout
    assert result.stderr.splitlines() == [WARNING]  # three operators: the count allows them
