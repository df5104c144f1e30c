"""The project documents itself.

No file of the tree cites documents that live outside the repository; the
README's links, anchors and section numbers lead somewhere that exists;
docs/design.md has every section the code cites by name (the design
document's path followed by the section's title in double quotes);
every setting of the shipped pdns snippets carries a comment.  Pure file
checks: no daemons, no build.
"""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DESIGN_DOC = os.path.join(ROOT, "docs", "design.md")

# Sections docs/design.md must have whatever the code cites today.
REQUIRED_DESIGN_SECTIONS = ["Architecture", "The store", "The backend", "The updater",
                            "Security model"]

# Names of documents outside the repository and of the machine the project
# was developed on.  Spelled in pieces so this file does not match itself.
FORBIDDEN = [
    (re.compile(r"\b" + "DESI" + r"GN\b"), "the old design document (use docs/design.md)"),
    (re.compile(r"\b" + "STY" + r"LE\.md\b"), "the house style outside the repository"),
    (re.compile(r"\.\./" + "sha" + "red"), "a directory outside the repository"),
    (re.compile(r"\bAPI" + r"\.txt\b"), "the hosted service's API text (use docs/design.md)"),
    (re.compile("STORE-" + "ANCHORS"), "notes outside the repository"),
    (re.compile("pdns-write-" + "protocol"), "notes outside the repository"),
    (re.compile(r"(?<![\w.~-])/" + "wo" + r"rk/"), "a path of the development machine"),
    (re.compile("farm-" + "(?:bench|studio)"), "an internal tool"),
]


def tree_files():
    """Paths (relative to ROOT) of the files of the tree: git's tracked and
    not ignored ones when this is a work tree, else every file outside
    build/, run/ and .git/.  tests/data holds third-party material and is
    left out."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, timeout=60)
        ok = out.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if ok:
        files = [f for f in out.stdout.decode().split("\0") if f]
    else:
        files = []
        for d, dirs, names in os.walk(ROOT):
            rel = os.path.relpath(d, ROOT)
            dirs[:] = [x for x in dirs if rel != "." or x not in (".git", "build", "run")]
            files += [os.path.normpath(os.path.join(rel, n)) for n in names]
    return sorted(f for f in files
                  if not f.startswith("tests/data/") and os.path.isfile(os.path.join(ROOT, f)))


def read_text(rel):
    """The file's text, or None for binary files."""
    with open(os.path.join(ROOT, rel), "rb") as f:
        data = f.read()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def markdown_files():
    return [f for f in tree_files() if f.endswith(".md")]


# ---- markdown helpers ----

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")


def prose_lines(text):
    """(line number, line) of text outside fenced code blocks, with inline
    code spans blanked out (their text is not markdown)."""
    fenced = False
    for no, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield no, re.sub(r"`[^`]*`", lambda m: "`" + " " * (len(m.group(0)) - 2) + "`", line)


def heading_text(raw):
    """A heading's text as rendered: links become their text, code and
    emphasis markers go."""
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    t = t.replace("`", "")
    t = re.sub(r"(\*\*|\*|__)", "", t)
    return t.strip()


def headings(text):
    """[(level, rendered text)] of text, code blocks skipped."""
    out = []
    fenced = False
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            out.append((len(m.group(1)), heading_text(m.group(2))))
    return out


def slug(text):
    """GitHub's anchor of a heading: lowercase, punctuation dropped (word
    characters, spaces and hyphens stay), spaces to hyphens."""
    s = text.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(text):
    """Every anchor GitHub generates for text's headings (a repeated slug
    gets -1, -2, ...)."""
    seen = {}
    out = set()
    for _, t in headings(text):
        s = slug(t)
        if s in seen:
            seen[s] += 1
            out.add("%s-%d" % (s, seen[s]))
        else:
            seen[s] = 0
            out.add(s)
    return out


def numbered_sections(text):
    """{"7a": "pdns's own tools on KyedNS zones", ...} of headings that start
    with a section number."""
    out = {}
    for _, t in headings(text):
        m = re.match(r"^(\d+[a-z]?)\.\s+(.*)$", t)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def links(rel):
    """(line number, target) of every inline link and reference definition
    in the markdown file rel."""
    out = []
    for no, line in prose_lines(read_text(rel)):
        for m in LINK.finditer(line):
            out.append((no, m.group(1)))
        m = REFDEF.match(line)
        if m:
            out.append((no, m.group(1)))
    return out


def is_external(target):
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) is not None


# ---- no references outside the repository ----

def test_no_file_cites_documents_outside_the_repository():
    bad = []
    for rel in tree_files():
        text = read_text(rel)
        if text is None:
            continue
        for no, line in enumerate(text.split("\n"), 1):
            for pattern, what in FORBIDDEN:
                if pattern.search(line):
                    bad.append("%s:%d: %s: %s" % (rel, no, what, line.strip()[:120]))
    assert not bad, "files cite what is not in the repository:\n" + "\n".join(bad)


def test_forbidden_patterns_match_what_they_are_meant_to():
    # The check above must be able to fail.
    samples = ["see " + "DESI" + "GN.md \"The backend\"", "(" + "DESI" + "GN: at most",
               "../" + "shared/x", "/" + "work/main/README.md", "API" + ".txt examples"]
    for s in samples:
        assert any(p.search(s) for p, _ in FORBIDDEN), s
    for s in ["docs/design.md \"The backend\"", "/var/lib/kyedns", "~/work/x", "network/x"]:
        assert not any(p.search(s) for p, _ in FORBIDDEN), s


# ---- links and anchors ----

def test_relative_links_point_to_existing_files():
    bad = []
    for rel in markdown_files():
        base = os.path.dirname(os.path.join(ROOT, rel))
        for no, target in links(rel):
            if not target or target.startswith("#") or is_external(target):
                continue
            path = target.split("#", 1)[0]
            if not os.path.exists(os.path.normpath(os.path.join(base, path))):
                bad.append("%s:%d: %s" % (rel, no, target))
    assert not bad, "links to missing files:\n" + "\n".join(bad)


def test_anchor_links_resolve():
    bad = []
    for rel in markdown_files():
        base = os.path.dirname(os.path.join(ROOT, rel))
        for no, target in links(rel):
            if "#" not in target or is_external(target):
                continue
            path, anchor = target.split("#", 1)
            dest = os.path.normpath(os.path.join(base, path)) if path else os.path.join(ROOT, rel)
            if not dest.endswith(".md") or not os.path.isfile(dest):
                continue
            with open(dest, encoding="utf-8") as f:
                if anchor not in anchors(f.read()):
                    bad.append("%s:%d: %s" % (rel, no, target))
    assert not bad, "anchors without a heading:\n" + "\n".join(bad)


def test_slugs_follow_github():
    assert slug(heading_text("1. Try it: `make run`")) == "1-try-it-make-run"
    assert slug(heading_text("7a. pdns's own tools on KyedNS zones")) == \
        "7a-pdnss-own-tools-on-kyedns-zones"
    assert anchors("# A\n## A\n```\n# A\n```\n### A\n") == {"a", "a-1", "a-2"}


# ---- section references ----

SECTION_REF = re.compile(r"(?:\b[Ss]ections?|\u00a7)\s*(\d+[a-z]?)\b((?:(?:,\s*|\s+and\s+|\s+or\s+)"
                         r"\d+[a-z]?\b)*)")
TITLED_REF = re.compile(r"\((\d+[a-z]?)\.\s+([A-Z][^)]*)\)")
FILE_MENTION = re.compile(r"([\w./-]+\.md)\b|\b(README)\b")


def prose_text(rel):
    """The markdown file rel as one string, fenced code and inline code
    blanked, line breaks kept (so offsets give line numbers)."""
    lines = dict(prose_lines(read_text(rel)))
    n = read_text(rel).count("\n") + 1
    return "\n".join(lines.get(no, "") for no in range(1, n + 1))


def section_refs(rel):
    """(line number, referring text, target file, number, title or None) for
    every "section N", "sections N and M", "\u00a7N" and "(N. Title)" in the
    markdown file rel, also when wrapped across lines.  A reference belongs
    to the file named just before it ("[docs/store.md](docs/store.md)
    section 5", "the README (section 9)"), else to rel itself; "RFC 6781
    section 4" is not ours."""
    out = []
    base = os.path.dirname(rel)
    text = prose_text(rel)
    found = [(m, [m.group(1)] + re.findall(r"\d+[a-z]?", m.group(2)), None)
             for m in SECTION_REF.finditer(text)]
    found += [(m, [m.group(1)], " ".join(m.group(2).split())) for m in TITLED_REF.finditer(text)]
    for m, numbers, title in found:
        no = text.count("\n", 0, m.start()) + 1
        window = " ".join(text[max(0, m.start() - 60):m.start()].split())[-45:]
        if re.search(r"RFC\s*\d+[,\s]*$", window):
            continue
        mentions = FILE_MENTION.findall(window)
        target = rel
        if mentions:
            if mentions[-1][1]:
                target = "README.md"
            else:
                name = mentions[-1][0]
                cand = os.path.normpath(os.path.join(base, name))
                target = cand if os.path.isfile(os.path.join(ROOT, cand)) else name
        context = " ".join(text[max(0, m.start() - 50):m.end() + 10].split())
        for n in numbers:
            out.append((no, context, target, n, title))
    return out


# What the sections referred to today are about: a renumbering that moves a
# topic away from its number fails here, not only a number that vanished.
SECTION_TOPICS = {
    ("README.md", "4"): "PID namespace",
    ("README.md", "5"): "KYEDNS_SOCKET",
    ("README.md", "7"): "AXFR",
    ("README.md", "7a"): "differential",
    ("README.md", "9"): "kyednsctl",
    ("docs/store.md", "4"): "Serial policy",
    ("docs/store.md", "5"): "dynamic host",
    ("docs/store.md", "7"): "zone export",
}


def section_bodies(text):
    """{number: text of the numbered section up to the next heading of the
    same or a higher level}."""
    out = {}
    cur, level, body = None, 0, []
    fenced = False
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        m = None if fenced else HEADING.match(line)
        if m and (cur is None or len(m.group(1)) <= level):
            if cur is not None:
                out[cur] = "\n".join(body)
            n = re.match(r"^(\d+[a-z]?)\.\s", heading_text(m.group(2)))
            cur, level, body = (n.group(1), len(m.group(1)), []) if n else (None, 0, [])
        if cur is not None:
            body.append(line)
    if cur is not None:
        out[cur] = "\n".join(body)
    return out


def test_section_references_resolve():
    bad = []
    checked = 0
    for rel in markdown_files():
        for no, line, target, n, title in section_refs(rel):
            path = os.path.join(ROOT, target)
            if not os.path.isfile(path):
                bad.append("%s:%d: section %s of missing %s" % (rel, no, n, target))
                continue
            with open(path, encoding="utf-8") as f:
                sections = numbered_sections(f.read())
            checked += 1
            if n not in sections:
                bad.append("%s:%d: %s has no section %s: %s" % (rel, no, target, n, line[:100]))
            elif title and not sections[n].lower().startswith(title.strip().lower()[:20]):
                bad.append("%s:%d: section %s of %s is %r, not %r" % (
                    rel, no, n, target, sections[n], title))
            elif (target, n) in SECTION_TOPICS:
                with open(path, encoding="utf-8") as f:
                    body = section_bodies(f.read()).get(n, "")
                if SECTION_TOPICS[(target, n)].lower() not in body.lower():
                    bad.append("%s:%d: section %s of %s does not mention %r: %s" % (
                        rel, no, n, target, SECTION_TOPICS[(target, n)], line[:100]))
    assert checked > 0
    assert not bad, "section references that lead nowhere:\n" + "\n".join(bad)


def test_section_reference_parser():
    text_refs = {}
    for no, line, target, n, title in section_refs("README.md"):
        text_refs.setdefault(target, set()).add(n)
    # The README points into itself and into docs/store.md.
    assert "README.md" in text_refs
    assert "docs/store.md" in text_refs


def test_readme_starts_with_make_run_and_make_test():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    head = text.split("\n## ", 1)[0]
    m = re.search(r"```\w*\n(.*?)```", head, re.S)
    assert m, "no command block before the first section"
    commands = [l.split("#", 1)[0].strip() for l in m.group(1).splitlines() if l.strip()]
    assert commands[:2] == ["make run", "make test"], commands


# ---- docs/design.md ----

CITATION = re.compile(r"design\.md\)?\]?\)?,?\s+(?:section\s+)?\"([^\"\n]+)\"")


def design_sections():
    with open(DESIGN_DOC, encoding="utf-8") as f:
        return {re.sub(r"^\d+[a-z]?\.\s+", "", t) for _, t in headings(f.read())}


def test_design_has_the_sections_the_code_cites():
    have = design_sections()
    cited = {}
    for rel in tree_files():
        text = read_text(rel)
        if text is None:
            continue
        for no, line in enumerate(text.split("\n"), 1):
            for m in CITATION.finditer(line):
                cited.setdefault(m.group(1), []).append("%s:%d" % (rel, no))
    missing = ["%r (cited at %s)" % (name, ", ".join(where))
               for name, where in sorted(cited.items()) if name not in have]
    missing += ["%r (required)" % name for name in REQUIRED_DESIGN_SECTIONS if name not in have]
    assert not missing, "docs/design.md lacks sections:\n" + "\n".join(missing)


def test_citation_pattern():
    m = CITATION.search('facts are in docs/design.md "The backend".')
    assert m and m.group(1) == "The backend"
    m = CITATION.search('see [docs/design.md](docs/design.md), "The updater"')
    assert m and m.group(1) == "The updater"


def test_readme_links_design_licence_and_changelog():
    targets = [t.split("#", 1)[0] for _, t in links("README.md")]
    for want in ("docs/design.md", "LICENSE", "CHANGELOG.md"):
        assert want in targets, want


# ---- pdns snippets ----

def test_every_pdns_setting_has_a_comment():
    confs = []
    for d in ("pdns-conf", os.path.join("pdns-conf", "production")):
        confs += [os.path.join(d, n) for n in sorted(os.listdir(os.path.join(ROOT, d)))
                  if n.endswith(".conf")]
    assert confs
    bad = []
    for rel in confs:
        prev = ""
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if line.strip() and not line.lstrip().startswith("#") and \
                        not prev.lstrip().startswith("#"):
                    bad.append("%s:%d: %s" % (rel, no, line))
                prev = line
    assert not bad, "settings without a comment line right before them:\n" + "\n".join(bad)
