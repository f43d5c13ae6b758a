# cmake -DIN=file -DOUT=file.c -P embed.cmake: writes IN as a C byte array
# (interp_driver_source, NUL-terminated) and its length.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE ${OUT} "/* Generated from runbox_driver.py by embed.cmake; do not edit. */\n"
  "#include <stddef.h>\n"
  "const char interp_driver_source[] = {\n${body}0x00};\n"
  "const size_t interp_driver_source_len = ${bytes};\n")
