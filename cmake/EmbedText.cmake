#===- EmbedText.cmake - A file's text as a C++ raw string literal ---------===#
#
# cmake -DINPUT=<file> -DOUTPUT=<file.inc> -P EmbedText.cmake
#
#===----------------------------------------------------------------------===#
file(READ "${INPUT}" text)
file(WRITE "${OUTPUT}" "R\"tesa_embedded(${text})tesa_embedded\"\n")
