#pragma once
// `reaper-overlay`: the overlay helper personality. The core runs it as a fresh
// process to make a group's mount namespace (core/overlay_namespace.hpp); it is not
// meant to be run by hand.
namespace reaper::overlay {
int main(int argc, char** argv);
}
