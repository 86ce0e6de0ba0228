"""The package's import graph has no cycles (imports inside functions count; imports under
``if TYPE_CHECKING:`` do not, they never run).  import-linter's contracts in pyproject.toml say
which way core's sub-packages may import; this says nothing anywhere imports in a circle, module
by module and sub-package by sub-package."""
from __future__ import annotations

import grimp


def _cycles(nodes, edges) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _graph():
    return grimp.build_graph("colorizer_app", exclude_type_checking_imports=True)


def test_cycles_finds_a_cycle():
    # the checker itself: a -> b -> c -> a is one cycle, d alone is none
    assert _cycles({"a", "b", "c", "d"}, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) \
        == [["a", "b", "c"]]


def test_no_module_imports_itself_in_a_circle():
    g = _graph()
    edges = {m: g.find_modules_directly_imported_by(m) for m in g.modules}
    assert _cycles(g.modules, edges) == []


def test_no_sub_packages_import_each_other_in_a_circle():
    g = _graph()
    packages = sorted(m for m in g.modules if g.find_children(m))
    found = []
    for pkg in packages:
        children = g.find_children(pkg)
        edges: dict[str, set[str]] = {}
        for m in g.modules:
            src = next((c for c in children if m == c or m.startswith(c + ".")), None)
            if src is None:
                continue
            for d in g.find_modules_directly_imported_by(m):
                dst = next((c for c in children if d == c or d.startswith(c + ".")), None)
                if dst is not None and dst != src:
                    edges.setdefault(src, set()).add(dst)
        found += _cycles(children, edges)
    assert found == []
