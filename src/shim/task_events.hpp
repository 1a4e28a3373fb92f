#pragma once
// Task events go out through one typed function: the topic and the type URL come from
// the event's C++ type, so a call site cannot pair an event with the wrong topic.
#include <string_view>

#include "events.pb.h"
#include "shim/publisher.hpp"

namespace reaper::shim {

template <class Event>
struct EventTopic;  // only the task events below exist

#define REAPER_TASK_EVENT(Type, topic_text)                                   \
  template <>                                                                 \
  struct EventTopic<containerd::events::Type> {                               \
    static constexpr std::string_view topic = topic_text;                     \
    static constexpr std::string_view type_url = "containerd.events." #Type; \
  };
REAPER_TASK_EVENT(TaskCreate, "/tasks/create")
REAPER_TASK_EVENT(TaskStart, "/tasks/start")
REAPER_TASK_EVENT(TaskDelete, "/tasks/delete")
REAPER_TASK_EVENT(TaskExit, "/tasks/exit")
REAPER_TASK_EVENT(TaskExecAdded, "/tasks/exec-added")
REAPER_TASK_EVENT(TaskExecStarted, "/tasks/exec-started")
REAPER_TASK_EVENT(TaskPaused, "/tasks/paused")
REAPER_TASK_EVENT(TaskResumed, "/tasks/resumed")
#undef REAPER_TASK_EVENT

template <class Event>
void publish(Publisher& publisher, const Event& event) {
  publisher.publish(std::string(EventTopic<Event>::topic), std::string(EventTopic<Event>::type_url),
                    event.SerializeAsString());
}

}  // namespace reaper::shim
