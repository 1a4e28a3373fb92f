#pragma once
// The `containerd-shim-reaper-v2` personality: containerd's shim v2 binary contract
// (start, delete, -info, -v) and the daemon serving the Task API over ttrpc.
namespace reaper::shim {
int main(int argc, char** argv);
}
