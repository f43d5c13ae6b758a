"""python3 embed_code.py IN OUT: writes OUT, a C file holding the driver
(IN) compiled by this interpreter, as interp_driver_code: the 4-byte magic
number of this interpreter's bytecode, a 4-byte big-endian length, the
marshalled code object, then the source itself (for an interpreter whose
magic differs). See INTERP_DRIVER_BOOT in interp.h for the reader."""
import importlib.util
import marshal
import sys

src_path, out_path = sys.argv[1], sys.argv[2]
with open(src_path, "rb") as f:
    source = f.read()
code = marshal.dumps(compile(source, "runbox_driver.py", "exec", dont_inherit=True))
blob = importlib.util.MAGIC_NUMBER + len(code).to_bytes(4, "big") + code + source
rows = (", ".join("0x%02x" % b for b in blob[i:i + 16]) for i in range(0, len(blob), 16))
with open(out_path, "w") as f:
    f.write("/* Generated from runbox_driver.py by embed_code.py (%s); do not edit. */\n"
            "#include <stddef.h>\n"
            "const unsigned char interp_driver_code[] = {\n%s};\n"
            "const size_t interp_driver_code_len = %d;\n"
            % (sys.version.split()[0], ",\n".join(rows), len(blob)))
