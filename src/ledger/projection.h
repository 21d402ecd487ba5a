// What a month of traffic would cost three ways: every request on a paid API, every request on
// self-hosted small-model machines, and the hybrid (a cascade: every request on the small model,
// the escalated share also on the API). Used by `kinglet cost --project` and `kinglet eval`.
//
// A machine is billed per hour whether busy or not, so the self-hosted cost is whole machines:
// enough of them for the busy time at peak (mean load x peak_factor), at least one.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kinglet::ledger {

struct ProjectionInput {
    double requests_per_day = 0;
    double input_tokens = 0;       // per request (prompt)
    double output_tokens = 0;      // per request (completion)
    double api_input_per_mtok = 0;   // USD per million tokens
    double api_output_per_mtok = 0;
    double prefill_tps = 0;        // measured local throughput under load, all requests together
    double decode_tps = 0;
    double machine_usd_per_hour = 0;
    double escalation_rate = 0;    // share of requests the hybrid also sends to the API, 0..1
    double peak_factor = 1;        // peak load / mean load, >= 1
    double days_per_month = 30;
};

struct ProjectedOption {
    std::string name;              // all_api | all_slm | hybrid
    double monthly_usd = 0;
    double api_usd = 0;            // of which paid to the API
    double local_usd = 0;          // of which machines
    int machines = 0;
    double utilization = 0;        // mean busy share of the machines, 0..1
    double usd_per_1k_requests = 0;
    double savings_vs_api_usd = 0;     // all_api.monthly_usd - monthly_usd
    double savings_vs_api_fraction = 0;
};

struct Projection {
    ProjectionInput input;
    double monthly_requests = 0;
    double local_seconds_per_request = 0;
    double api_usd_per_request = 0;
    std::vector<ProjectedOption> options;  // all_api, all_slm, hybrid
};

// Throws Error (invalid_argument) naming the field for a negative, non-finite or out-of-range input.
Projection project(const ProjectionInput& in);

nlohmann::json to_json(const Projection& p);
std::string format_projection(const Projection& p);

}  // namespace kinglet::ledger
