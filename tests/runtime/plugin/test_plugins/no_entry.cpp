// A shared library without the entry symbol.
extern "C" int not_a_switchyard_plugin() {
  return 42;
}
