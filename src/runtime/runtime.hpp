#pragma once
// The `reaper-runtime` personality: an OCI runtime CLI with runc's verbs and flags.
namespace reaper::runtime {
int main(int argc, char** argv);
}
