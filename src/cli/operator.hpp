#pragma once
// The `reaper` personality: the operator's CLI (state, list, wait, overlay, …; verb.hpp).
#include <span>
#include <string_view>

namespace reaper::cli {
// `personalities`: the link names `reaper install-links` creates (main.cpp knows them).
int main(int argc, char** argv, std::span<const std::string_view> personalities);
}
