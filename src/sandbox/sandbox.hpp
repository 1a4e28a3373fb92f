#pragma once
// `reaper-sandbox`: what a pod sandbox runs instead of the image's /pause. A real
// process that lives as long as the pod and does nothing; SIGTERM or SIGINT end it with
// status 0, as pause does.
namespace reaper::sandbox {
int main(int argc, char** argv);
}
