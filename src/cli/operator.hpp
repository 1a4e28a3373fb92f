#pragma once
// The `reaper` personality: the operator's CLI (state, list, …).
namespace reaper::cli {
int main(int argc, char** argv);
}
