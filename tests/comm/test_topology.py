"""Topologies: the JSON format, presets, link lookups, diagnostics, ``xpuc topo show``."""

import argparse
import copy
import json
import xml.dom.minidom

import pytest

from xpuc.comm import topo_cli
from xpuc.comm.presets import PRESETS
from xpuc.comm.topology import Topology, TopologyError, uniform

SMALL = {
    "name": "small",
    "link_classes": {
        "nvlink": {"alpha_us": 2, "bandwidth_GBps": 450},
        "roce": {"alpha_us": 8, "bandwidth_GBps": 25},
        "spine": {"alpha_us": 10, "bandwidth_GBps": 12.5, "peer_GBps": 10},
    },
    "device_kinds": {
        "h100": {"vendor": "nvidia", "memory_GiB": 80, "peak_tflops": 989, "reduce_GBps": 1000}
    },  # fmt: skip
    "racks": [
        {
            "link": "roce",
            "nodes": [
                {"name": "a", "link": "nvlink", "devices": [{"kind": "h100", "count": 4}]},
                {"name": "b", "devices": [{"kind": "h100"}]},
            ],
        },  # fmt: skip
        {
            "nodes": [
                {
                    "name": "c",
                    "link": "nvlink",
                    "nics": 1,
                    "devices": [{"kind": "h100", "count": 2}],
                }
            ]
        },  # fmt: skip
    ],
    "inter_rack_link": "spine",
    "native": {"all_reduce": {"fixed_s": 1e-5, "per_byte_s": 1e-11}},
}


def test_from_dict_structure_and_links():
    t = Topology.from_json(SMALL)
    assert t.name == "small" and t.size == 7
    assert t.nodes() == [[0, 1, 2, 3], [4], [5, 6]]
    d = t.devices[5]
    assert (d.id, d.kind, d.node, d.rack, d.name) == (5, "h100", 2, 1, "c/0")
    assert d.memory_gib == 80 and d.peak_tflops == 989
    assert t.link(0, 3).name == "nvlink"
    assert t.link(0, 4).name == "roce"
    assert t.link(4, 6).name == "spine" and t.link(6, 4).name == "spine"
    assert t.link(5, 6).name == "nvlink"
    nv = t.link(0, 1)
    assert nv.alpha == pytest.approx(2e-6) and nv.bandwidth == pytest.approx(450e9)
    assert t.link(0, 6).peer_bandwidth == pytest.approx(10e9)
    assert t.gamma(0) == pytest.approx(1e-12)
    assert t.native["all_reduce"] == (1e-5, 1e-11)
    assert t.node_list[2].nics == 1 and t.node_list[0].nics == 4
    with pytest.raises(ValueError, match="itself"):
        t.link(2, 2)


def test_json_round_trip(tmp_path):
    t = Topology.from_json(SMALL)
    doc = t.to_json()
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    t2 = Topology.load(str(path))
    assert t2.to_json() == doc
    assert [(d.kind, d.node, d.rack, d.name) for d in t2.devices] == [
        (d.kind, d.node, d.rack, d.name) for d in t.devices
    ]
    for a in range(t.size):
        for b in range(t.size):
            if a != b:
                assert t2.link(a, b).name == t.link(a, b).name


def test_native_is_settable():
    t = Topology.load("h100x8")
    assert t.native == {}
    t.native["all_gather"] = (2e-5, 3e-12)
    assert Topology.from_json(t.to_json()).native == {"all_gather": (2e-5, 3e-12)}


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets(name):
    t = Topology.load(name)
    assert t.name == name
    assert Topology.from_json(t.to_json()).to_json() == t.to_json()


def test_preset_shapes():
    h = Topology.load("h100x8")
    assert h.size == 8 and len(h.nodes()) == 1 and h.link(0, 7).name == "nvlink"
    a = Topology.load("ascend910bx8")
    assert a.size == 8 and a.link(0, 1).name == "hccs" and a.devices[0].kind == "ascend910b"
    m = Topology.load("mixed2node")
    assert m.size == 16 and len(m.nodes()) == 2
    assert {m.devices[0].kind, m.devices[15].kind} == {"h100", "ascend910b"}
    assert (m.link(0, 1).name, m.link(8, 9).name, m.link(0, 15).name) == ("nvlink", "hccs", "roce")


def test_cluster1024():
    # Built from a 'repeat' document; the cost model relies on it being cheap (not timed).
    t = Topology.load("cluster1024")
    assert t.size == 1024 and len(t.nodes()) == 128 and len(t.racks) == 8
    assert all(len(n) == 8 for n in t.nodes())
    assert t.link(0, 7).name == "nvlink"
    assert t.link(0, 8).name == "ib"  # next node, same rack
    assert t.link(0, 128).name == "spine"  # rack 1
    assert t.node_list[17].name == "rack1.n1"
    assert len({n.name for n in t.node_list}) == 128


def test_uniform():
    t = uniform(8, 5e-6, 10e9, 1e-10, nodes=2)
    assert t.size == 8 and t.nodes() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    ln = t.link(0, 7)
    assert (ln.alpha, ln.bandwidth) == (5e-6, 10e9) and t.link(0, 1) == ln
    assert t.gamma(3) == 1e-10
    assert uniform(1, 1e-6, 1e9, 0.0).size == 1
    with pytest.raises(TopologyError, match="do not split into 3 equal nodes"):
        uniform(8, 1e-6, 1e9, 0.0, nodes=3)


def _broken(edit):
    doc = copy.deepcopy(SMALL)
    edit(doc)
    return doc


def _set(path, value):
    def edit(doc):
        *head, last = path
        for k in head:
            doc = doc[k]
        if value is _DELETE:
            del doc[last]
        else:
            doc[last] = value

    return edit


_DELETE = object()

ERRORS = [
    (_set(["racks", 0, "nodes", 0, "link"], "nvlnk"),
     "topo.json: racks[0].nodes[0].link: unknown link class 'nvlnk' (known: nvlink, roce, spine)"),
    (_set(["racks", 0, "link"], "ib"), "topo.json: racks[0].link: unknown link class 'ib'"),
    (_set(["inter_rack_link"], _DELETE),
     "topo.json: missing key 'inter_rack_link' (there are 2 racks)"),
    (_set(["racks", 0, "nodes", 0, "link"], _DELETE),
     "topo.json: racks[0].nodes[0]: missing key 'link' (the node has 4 devices)"),
    (_set(["racks", 0, "link"], _DELETE),
     "topo.json: racks[0]: missing key 'link' (the rack has 2 nodes)"),
    (_set(["racks", 1, "nodes", 0, "devices", 0, "kind"], "a100"),
     "topo.json: racks[1].nodes[0].devices[0].kind: unknown device kind 'a100' (known: h100)"),
    (_set(["racks", 0, "nodes", 0, "devices", 0, "count"], 0),
     "topo.json: racks[0].nodes[0].devices[0].count: expected a positive integer, got 0"),
    (_set(["link_classes", "roce", "bandwidth_GBps"], -1),
     "topo.json: link_classes.roce.bandwidth_GBps: expected a positive number, got -1"),
    (_set(["link_classes", "roce", "alpha_us"], "8"),
     'topo.json: link_classes.roce.alpha_us: expected a number, got "8"'),
    (_set(["link_classes", "roce", "alpha_us"], _DELETE),
     "topo.json: link_classes.roce: missing key 'alpha_us'"),
    (_set(["racks", 0, "nodes", 0, "lnk"], "nvlink"),
     "topo.json: racks[0].nodes[0].lnk: unknown key (expected one of name, link, nics, "),
    (_set(["racks"], []), "topo.json: racks: expected a non-empty list of racks"),
    (_set(["device_kinds"], _DELETE), "topo.json: missing key 'device_kinds'"),
    (_set(["racks", 1, "nodes", 0, "name"], "a"),
     "topo.json: racks[1].nodes[0].name: duplicate node name 'a' (also racks[0].nodes[0])"),
    (_set(["native", "allreduce"], {"fixed_s": 0, "per_byte_s": 0}),
     "topo.json: native.allreduce: unknown collective kind"),
    (_set(["racks", 0, "nodes", 1, "devices"], {"kind": "h100"}),
     "topo.json: racks[0].nodes[1].devices: expected a non-empty list of devices"),
]  # fmt: skip


@pytest.mark.parametrize("edit, message", ERRORS)
def test_errors_name_file_and_key(tmp_path, edit, message):
    path = tmp_path / "topo.json"
    path.write_text(json.dumps(_broken(edit)))
    with pytest.raises(TopologyError) as e:
        Topology.from_json(path)
    assert str(e.value).startswith(str(tmp_path / message.split(":")[0]) + ":")
    assert message.split(": ", 1)[1] in str(e.value)


def test_error_invalid_json_and_missing_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n  "racks": [}')
    with pytest.raises(TopologyError, match=r"bad.json:2:13: invalid JSON: Expecting value"):
        Topology.load(str(path))
    with pytest.raises(TopologyError, match=r"missing.json: cannot read"):
        Topology.load(str(tmp_path / "missing.json"))
    with pytest.raises(TopologyError, match=r"unknown topology 'h100x9' \(presets: h100x8"):
        Topology.load("h100x9")
    assert issubclass(TopologyError, ValueError)


def _parser():
    p = argparse.ArgumentParser(prog="xpuc")
    topo_cli.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def test_topo_show_text(capsys):
    args = _parser().parse_args(["topo", "show", "mixed2node"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "topology mixed2node: 16 devices (8x h100, 8x ascend910b), 2 nodes, 1 rack" in out
    assert "roce       alpha 8 us  bandwidth 25 GB/s" in out
    assert "hccs       alpha 3 us  bandwidth 196 GB/s (28 GB/s to one peer)" in out
    assert "dgx: 8x h100 over nvlink" in out


def test_topo_show_folds_large(capsys):
    args = argparse.Namespace(spec="cluster1024", draw=None)
    assert topo_cli.cmd(args) == 0
    out = capsys.readouterr().out
    assert "rack0 .. rack7 (8 racks): 16 nodes over ib" in out
    assert "rack0.n0 .. rack0.n15 (16 nodes): 8x h100 over nvlink" in out
    assert len(out.splitlines()) < 20


@pytest.mark.parametrize("spec", ["cluster1024", "mixed2node", "h100x8"])
def test_topo_show_draws_svg(tmp_path, capsys, spec):
    out = tmp_path / "t.svg"
    args = _parser().parse_args(["topo", "show", spec, "--draw", str(out)])
    assert args.func(args) == 0
    text = out.read_text()
    doc = xml.dom.minidom.parseString(text)  # well-formed
    assert doc.documentElement.tagName == "svg"
    if spec == "cluster1024":
        assert "more racks" in text and "more nodes like these" in text
        assert text.count("<title>") < 100  # folded, not 1,024 squares
    else:
        assert text.count("<title>") == Topology.load(spec).size


def test_topo_show_errors(tmp_path, capsys):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps(_broken(_set(["racks", 0, "nodes", 0, "link"], "nvlnk"))))
    assert topo_cli.cmd(argparse.Namespace(spec=str(bad), draw=None)) == 1
    err = capsys.readouterr().err
    assert err == (
        f"xpuc: error: {bad}: racks[0].nodes[0].link: unknown link class 'nvlnk' "
        "(known: nvlink, roce, spine)\n"
    )
    assert topo_cli.cmd(argparse.Namespace(spec="nope", draw=None)) == 1
    assert "unknown topology 'nope'" in capsys.readouterr().err
    draw = str(tmp_path / "no" / "dir" / "x.svg")
    assert topo_cli.cmd(argparse.Namespace(spec="h100x8", draw=draw)) == 1
    assert "x.svg" in capsys.readouterr().err
