#pragma once
// The wire's messages as the cluster uses them: their names brought into weft::cluster from
// src/wire (which owns every byte of them), and how a failure travels as an exception.

#include <exception>
#include <string>
#include <string_view>

#include "wire/messages.hpp"
#include "wire/records.hpp"

namespace weft::cluster {

using wire::actor_call_header;
using wire::actor_end;
using wire::actor_id_message;
using wire::actor_record;
using wire::claim_reply;
using wire::cluster_view;
using wire::failure;
using wire::from_bytes;
using wire::from_record;
using wire::grant_attach;
using wire::handle_grant;
using wire::heartbeat;
using wire::held_result;
using wire::join_reply;
using wire::node_record;
using wire::object_dropped;
using wire::object_pull;
using wire::object_release;
using wire::ref_value_header;
using wire::request_kind;
using wire::request_payload;
using wire::response_payload;
using wire::response_status;
using wire::spawn_answer;
using wire::spawn_order;
using wire::take_front;
using wire::task_header;
using wire::to_bytes;
using wire::to_record;

/// The type name a failure carries for weft::actor_died (mapped back to it by the caller).
inline constexpr std::string_view actor_died_type = "weft::actor_died";

/// The type name and message of exception `e`, raised on node `node`, for the caller's error.
failure describe_exception(const std::exception_ptr& e, const std::string& node);
/// A failed response's payload: the status byte and `f`.
std::string failure_prefix(const failure& f);
/// The error a caller sees for failure `f` of what `task` names: weft::actor_died,
/// object_lost and cancelled_error keep their type; anything else is a weft::task_error.
std::exception_ptr exception_from(failure f, const std::string& task);
/// The actor spawn order `order` names, as the head's directory knows it, living on `node`.
actor_status named_by(const spawn_order& order, const std::string& node);

}  // namespace weft::cluster
