#include "transcribe_worker.h"

#include "native_model.h"

namespace prism {

namespace {

// What a streaming call still owes JS once its last segment has been delivered.
struct Completion {
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference result;
  Napi::ObjectReference error;
  NativeModel* model = nullptr;
  Napi::ObjectReference model_ref;
  uint32_t job = 0;
  bool ready = false;
};

Napi::Object SegmentObject(Napi::Env env, const Segment& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("t0Ms", Napi::Number::New(env, static_cast<double>(s.t0_ms)));
  o.Set("t1Ms", Napi::Number::New(env, static_cast<double>(s.t1_ms)));
  o.Set("text", Napi::String::New(env, s.text));
  o.Set("noSpeechProb", Napi::Number::New(env, s.no_speech_prob));
  return o;
}

}  // namespace

TranscribeWorker::TranscribeWorker(Napi::Env env, NativeModel* model, Napi::Object model_object, int slot, uint32_t job, Napi::Float32Array pcm,
                                   TranscribeOptions options, Napi::Value on_segment, std::shared_ptr<std::atomic<bool>> abort)
    : PromiseWorker(env, "prism-whisper:transcribe"),
      model_(model),
      model_ref_(Napi::Persistent(model_object)),
      slot_(slot),
      job_(job),
      pcm_ref_(Napi::Persistent(pcm)),
      pcm_(pcm.Data()),
      samples_(pcm.ElementLength()),
      options_(std::move(options)),
      abort_(std::move(abort)) {
  if (on_segment.IsFunction()) {
    auto* completion = new Completion{deferred_};
    completion->model = model;
    completion->model_ref = Napi::Persistent(model_object);
    completion->job = job;
    segments_ = Napi::ThreadSafeFunction::New(env, on_segment.As<Napi::Function>(), "prism-whisper:segments", 0, 1, completion, [](Napi::Env, Completion* c) {
      // Also runs while a Worker's environment is torn down, when settling fails: dropped, as in
      // PromiseWorker (an escaping Napi::Error would end the process in std::terminate).
      try {
        if (c->ready && c->error.IsEmpty()) {
          c->deferred.Resolve(c->result.Value());
        } else if (c->ready) {
          c->deferred.Reject(c->error.Value());
        }
        c->model->JobDone(c->job);
      } catch (const Napi::Error&) {
      }
      delete c;
    });
    streaming_ = true;
  }
}

void TranscribeWorker::Run() {
  Engine::SegmentSink sink;
  if (streaming_) {
    sink = [this](const Segment& s) {
      auto* copy = new Segment(s);
      const napi_status status = segments_.NonBlockingCall(copy, [abort = abort_](Napi::Env env, Napi::Function fn, Segment* seg) {
        // While a Worker's environment is torn down the call fails: nobody is left to tell, so the
        // transcription stops here (terminate() then resolves in milliseconds). A Napi::Error escaping
        // this callback would end the whole process in std::terminate.
        try {
          if (env != nullptr && fn != nullptr) fn.Call({SegmentObject(env, *seg)});
        } catch (const Napi::Error&) {
          abort->store(true);
        }
        delete seg;
      });
      if (status != napi_ok) delete copy;
    };
  }
  result_ = model_->engine()->Transcribe(slot_, pcm_, samples_, options_, sink, *abort_);
}

Napi::Value TranscribeWorker::Result(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array segments = Napi::Array::New(env, result_.segments.size());
  std::string text;
  for (size_t i = 0; i < result_.segments.size(); ++i) {
    segments.Set(static_cast<uint32_t>(i), SegmentObject(env, result_.segments[i]));
    text += result_.segments[i].text;
  }
  o.Set("text", Napi::String::New(env, text));
  o.Set("segments", segments);
  o.Set("language", Napi::String::New(env, result_.language));
  Napi::Object t = Napi::Object::New(env);
  t.Set("melMs", Napi::Number::New(env, result_.timings.mel_ms));
  t.Set("encodeMs", Napi::Number::New(env, result_.timings.encode_ms));
  t.Set("decodeMs", Napi::Number::New(env, result_.timings.decode_ms));
  t.Set("totalMs", Napi::Number::New(env, result_.timings.total_ms));
  t.Set("tokens", Napi::Number::New(env, result_.timings.tokens));
  t.Set("windows", Napi::Number::New(env, result_.timings.windows));
  if (result_.timings.graphs_built >= 0) {
    Napi::Object graphs = Napi::Object::New(env);
    graphs.Set("built", Napi::Number::New(env, result_.timings.graphs_built));
    graphs.Set("reused", Napi::Number::New(env, result_.timings.graphs_reused));
    t.Set("decoderGraphs", graphs);
  }
  o.Set("timings", t);
  return o;
}

void TranscribeWorker::Settle(Napi::Env /*env*/, Napi::Value result, Napi::Value error) {
  model_->engine()->Release(slot_);
  if (!streaming_) {
    Finish(result, error);
    model_->JobDone(job_);
    return;
  }
  Completion* c = segments_.GetContext();
  if (!error.IsEmpty() && error.IsObject()) {
    c->error = Napi::Persistent(error.As<Napi::Object>());
  } else {
    c->result = Napi::Persistent(result.As<Napi::Object>());
  }
  c->ready = true;
  segments_.Release();
}

}  // namespace prism
