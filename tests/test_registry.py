import pytest

from dashboard.contract.systems import RegistryError, load_feeds

EXPECTED = {
    "110": ("公安110指挥中心", "cad"), "119": ("消防救援", "cad"), "120": ("医疗急救", "cad"),
    "122": ("交通事故", "cad"), "12345": ("政务服务便民热线", "open311"),
    "qy117": ("中小微企业诉求快速响应平台", "open311"), "cg": ("城市管理", "open311"),
    "wg": ("智慧网格员上报", "json"), "xf": ("信访", "sql"), "tj": ("矛盾纠纷调解", "json"),
    "qx": ("气象预警", "cap"), "tf": ("台风路径", "typhoon-json"), "sw": ("水利三防", "json"),
    "yj": ("应急管理", "json"), "aj": ("安全生产隐患", "json"), "hb": ("生态环境", "json"),
    "sj": ("市场监管12315", "csv"), "mz": ("民政社会救助", "csv"), "wj": ("卫健", "json"),
    "sp": ("视频智能告警", "json"), "hs": ("海上网格", "json"),
}


def test_the_21_connected_systems(settings):
    feeds = load_feeds(settings)
    assert {c: (f.name, f.adapter) for c, f in feeds.items()} == EXPECTED
    for f in feeds.values():
        assert "{upstream}" not in f.endpoint and "{data_dir}" not in f.endpoint
        assert f.interval_s > 0 and f.sla
        if f.adapter in ("json", "csv", "sql"):
            assert f.mapping, f"{f.code} needs a field mapping"


def test_override_merges_and_adds(settings, tmp_path):
    over = tmp_path / "mine.toml"
    over.write_text(
        '[feeds.110]\ninterval_s = 1\n[feeds.110.options]\nextra = "x"\n'
        '[feeds.zz]\nname = "新系统"\nadapter = "json"\ntransport = "http"\nendpoint = "{upstream}/zz"\n'
        'mapping = { records = "data", case_id = "id", kind = { const = "case" }, status = { const = "reported" },'
        ' category = { const = "other" }, occurred_at = "t" }\n',
        encoding="utf-8",
    )
    settings.registry = over
    feeds = load_feeds(settings)
    assert feeds["110"].interval_s == 1 and feeds["110"].options == {"agency": "police", "extra": "x"}
    assert feeds["110"].adapter == "cad"
    assert feeds["zz"].endpoint == "http://127.0.0.1:8060/zz"


@pytest.mark.parametrize("body, msg", [
    ('[feeds.110]\nadapter = "nope"\n', "adapter"),
    ('[feeds.110]\ndatum = "mars"\n', "datum"),
    ('[feeds.q]\nname = "x"\n', "missing"),
    ("not toml [", "registry override"),
])
def test_bad_registry_names_the_problem(settings, tmp_path, body, msg):
    over = tmp_path / "bad.toml"
    over.write_text(body, encoding="utf-8")
    settings.registry = over
    with pytest.raises(RegistryError, match=msg):
        load_feeds(settings)
