#pragma once
// One function per verb. Each gets the runtime's global options and its own argv
// (after the verb) and returns the process exit status.
#include <string>

#include "core/error.hpp"

namespace reaper::runtime {

struct Globals {
  std::string root = "/run/reaper";
};

int verb_create(const Globals& g, int argc, char** argv);
int verb_start(const Globals& g, int argc, char** argv);
int verb_run(const Globals& g, int argc, char** argv);
int verb_state(const Globals& g, int argc, char** argv);
int verb_kill(const Globals& g, int argc, char** argv);
int verb_delete(const Globals& g, int argc, char** argv);
int verb_exec(const Globals& g, int argc, char** argv);
int verb_list(const Globals& g, int argc, char** argv);
int verb_ps(const Globals& g, int argc, char** argv);
int verb_features(const Globals& g, int argc, char** argv);
int verb_pause(const Globals& g, int argc, char** argv);
int verb_resume(const Globals& g, int argc, char** argv);
int verb_update(const Globals& g, int argc, char** argv);

// Reports an error through the log and returns the CLI's failure status (1).
int report(const Error& e);

}  // namespace reaper::runtime
