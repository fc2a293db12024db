"""A data key `m::x` whose m is no module warns with a did-you-mean: amiconfig's [cernvm] services
became services::enabled, which no module read, and nothing said so (issue 15)."""
from node_modules_support import compile_data


def test_a_key_of_no_module_warns_naming_the_file_and_the_nearest_module(tmp_path):
    _, warnings = compile_data(tmp_path, {
        "classes": ["hostname"], "hostname::name": "wn1.example.org",
        "service::enabled": ["ntpd"],                      # one letter off: services
        "htcondor::is_execute": True,                      # a BNL Puppet module's key
        "confrt::instance_id": "i-0123",                   # confrt's own keys (from the metadata)
        "motd_messages": {"motd3": {"message": "hi"}},     # not module::key: nobody's business
        "tcpbuffers::only_raise": False,                   # a module that exists, not included
    })
    common = str(tmp_path / "site" / "data" / "common.yaml")
    assert warnings == [f"{common}: htcondor::is_execute: no module named 'htcondor' (did you mean 'condor'?)",
                        f"{common}: service::enabled: no module named 'service' (did you mean 'services'?)"]


def test_the_unknown_parameter_warning_of_an_included_module_stays(tmp_path):
    _, warnings = compile_data(tmp_path, {"classes": ["hostname"], "hostname::nmae": "x"})
    assert warnings == [f"{tmp_path}/site/data/common.yaml: hostname::nmae: not a parameter of module hostname "
                        "(did you mean 'hostname::name'?)"]
