// Minimal standalone runner of a `hwgen build --target tvm` library: loads model.so with the
// TVM runtime, runs the Relax VM function "main" once, writes every output as raw bytes.
// Built for aarch64 by hwgen.tvm_backend.qemu and run under qemu-user on an x86 host.
//
//   run_model MODEL.so OUT_PREFIX IN.bin:DTYPE:D0,D1,... [...]     DTYPE: float32 | int32
//   -> OUT_PREFIX0.bin, OUT_PREFIX1.bin, ... and one "output i dtype shape" line each on stdout
#include <tvm/ffi/container/array.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/function.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using tvm::ffi::Any;
using tvm::ffi::Function;
using tvm::ffi::Module;
using tvm::ffi::Tensor;

// Host memory for input tensors (the VM allocates everything else itself).
struct HostAlloc {
  void AllocData(DLTensor* t) { t->data = std::aligned_alloc(64, (tvm::ffi::GetDataSize(*t) + 63) / 64 * 64); }
  void FreeData(DLTensor* t) { std::free(t->data); }
};

static DLDataType parse_dtype(const std::string& name) {
  if (name == "float32") return DLDataType{kDLFloat, 32, 1};
  if (name == "int32") return DLDataType{kDLInt, 32, 1};
  if (name == "int64") return DLDataType{kDLInt, 64, 1};
  throw std::runtime_error("unsupported dtype " + name);
}

static Tensor read_input(const std::string& spec) {
  size_t a = spec.find(':'), b = spec.find(':', a + 1);
  std::string path = spec.substr(0, a), dtype = spec.substr(a + 1, b - a - 1), dims = spec.substr(b + 1);
  std::vector<int64_t> shape;
  std::stringstream ss(dims);
  for (std::string d; std::getline(ss, d, ',');) shape.push_back(std::stoll(d));
  Tensor t = Tensor::FromNDAlloc(HostAlloc(), tvm::ffi::Shape(shape), parse_dtype(dtype), DLDevice{kDLCPU, 0});
  size_t bytes = tvm::ffi::GetDataSize(*t.GetDLTensorPtr());
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.GetDLTensorPtr()->data), static_cast<std::streamsize>(bytes));
  if (static_cast<size_t>(in.gcount()) != bytes) throw std::runtime_error("short read from " + path);
  return t;
}

static void write_output(const Tensor& tensor, const std::string& path, size_t index) {
  const DLTensor* t = tensor.GetDLTensorPtr();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(t->data), static_cast<std::streamsize>(tvm::ffi::GetDataSize(*t)));
  std::cout << "output " << index << " " << int(t->dtype.code) << ":" << int(t->dtype.bits) << " ";
  for (int i = 0; i < t->ndim; i++) std::cout << (i ? "," : "") << t->shape[i];
  std::cout << "\n";
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: run_model MODEL.so OUT_PREFIX IN.bin:DTYPE:D0,D1,... [...]\n";
    return 2;
  }
  try {
    Module lib = Module::LoadFromFile(argv[1]);
    Module vm = lib->GetFunction("vm_load_executable").value()().cast<Module>();
    vm->GetFunction("vm_initialization").value()(static_cast<int>(kDLCPU), 0, 2 /* pooled allocator */);
    std::vector<Any> args;
    for (int i = 3; i < argc; i++) args.push_back(read_input(argv[i]));
    std::vector<tvm::ffi::AnyView> views(args.begin(), args.end());
    Any result;
    vm->GetFunction("main").value().CallPacked(views.data(), static_cast<int>(views.size()), &result);
    std::string prefix = argv[2];
    if (auto tensor = result.try_cast<Tensor>()) {
      write_output(*tensor, prefix + "0.bin", 0);
    } else {
      auto outs = result.cast<tvm::ffi::Array<Any>>();
      for (size_t i = 0; i < outs.size(); i++) write_output(outs[i].cast<Tensor>(), prefix + std::to_string(i) + ".bin", i);
    }
  } catch (const std::exception& err) {
    std::cerr << "run_model: " << err.what() << "\n";
    return 1;
  }
  return 0;
}
