// The bandwidth CNI plugin: wiring only. (No plugin note: no linen plugin runs
// bandwidth as an in-process delegate; the runtime execs it in the chain.)
#include "libcni/skel.h"
#include "plugins/bandwidth/commands.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, bandwidth::Funcs(), "linen bandwidth CNI plugin");
}
