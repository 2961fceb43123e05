# Writes the text file IN into the C++ source OUT as the definition of
# `const char* const NAME` in namespace NAMESPACE (a raw string literal,
# delimiter "sydash": IN must not contain `)sydash"`).
# Usage: cmake -DIN=... -DOUT=... -DNAME=... -DNAMESPACE=... -P embed_text.cmake
file(READ "${IN}" content)
string(FIND "${content}" ")sydash\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains )sydash\" and cannot be embedded")
endif()
file(WRITE "${OUT}" "// Generated from ${IN} by cmake/embed_text.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\nextern const char* const ${NAME};\n"
  "const char* const ${NAME} = R\"sydash(${content})sydash\";\n}\n")
