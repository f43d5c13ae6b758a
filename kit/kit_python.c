/* The Python environment probe: what a backend's environment() returns,
 * asked of the sandbox's own interpreter. */
#include "runbox/kit.h"

const char rbk_python_environment_probe[] =
    "import json, platform, sys, importlib.metadata as m\n"
    "pk = {}\n"
    "for d in m.distributions():\n"
    "    n = d.metadata.get('Name')\n"
    "    if n: pk[n] = d.version\n"
    "print(json.dumps({'python': platform.python_version(),\n"
    "  'implementation': platform.python_implementation(),\n"
    "  'executable': sys.executable, 'platform': platform.platform(),\n"
    "  'machine': platform.machine(), 'packages': dict(sorted(pk.items()))}))\n";
