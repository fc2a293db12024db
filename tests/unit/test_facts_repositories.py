"""The yum_repos fact: the enabled dnf repositories of /etc/yum.repos.d, as dnf reads them."""
from confrt.facts import Facts

OSG_REPO = """\
[osg]
name=OSG Software for Enterprise Linux 9 - $basearch
baseurl=https://repo.osg-htc.org/osg/24-main/el9/release/$basearch
enabled=1
gpgcheck=1

[osg-upcoming]
name=OSG Software upcoming
baseurl=https://repo.osg-htc.org/osg/24-upcoming/el9/release/$basearch
enabled=0

[osg-contrib]
name=OSG contrib
enabled = False
"""


def facts_of(tmp_path, files):
    folder = tmp_path / "etc" / "yum.repos.d"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return Facts(root=str(tmp_path))


def test_enabled_repositories_of_every_file(tmp_path):
    facts = facts_of(tmp_path, {
        "osg.repo": OSG_REPO,
        "epel.repo": "[epel]\nname=EPEL\nmetalink=https://mirrors.fedoraproject.org/metalink?repo=epel-9\n",
        "cern-frontier.repo": "[cern-frontier]\nname=frontier\nbaseurl=http://frontier.cern.ch/dist/rpms/\n"
                              "enabled=yes\n",
        "broken.repo": "this is not an ini file\n[half",
        "notes.txt": "[ignored]\n",
    })
    assert facts.get("yum_repos") == ["cern-frontier", "epel", "osg"]


def test_no_repository_folder_is_an_empty_list(tmp_path):
    assert Facts(root=str(tmp_path)).get("yum_repos") == []


def test_read_as_dnf_reads_them(tmp_path):
    """Checked against dnf 4.14's `repolist --enabled` (--installroot, reposdir): a [main] section of
    a .repo file is no repository; option names are case-sensitive (Enabled=0 is an unknown option,
    the repository stays enabled); a repository id defined again in a later file (by name) keeps its
    first definition."""
    facts = facts_of(tmp_path, {
        "a.repo": "[main]\nname=not a repository\n\n[osg]\nname=OSG\nenabled=0\n\n[cern-frontier]\nname=frontier\n"
                  "Enabled=0\n",
        "b.repo": "[osg]\nname=OSG again\nenabled=1\n",
    })
    assert facts.get("yum_repos") == ["cern-frontier"]
