// loopback: wiring only; the behaviour is in loopback.cc.
#include "libcni/skel.h"
#include "plugins/loopback/loopback.h"

int main(int argc, char** argv) {
  cni::PluginFuncs funcs;
  funcs.add = loopback::CmdAdd;
  funcs.del = loopback::CmdDel;
  funcs.check = loopback::CmdCheck;
  return cni::PluginMain(argc, argv, funcs, "CNI loopback plugin (linen)");
}
