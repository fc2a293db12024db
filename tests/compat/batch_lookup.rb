# `puppet lookup` for many keys and merge options in one process: stock
# `puppet lookup a b c` returns only the first key found, and each call costs
# ~2 s of Ruby start-up. This wraps Puppet::Pops::Lookup.lookup so that, when
# the environment variable CONFRT_LOOKUP_RUNS holds a JSON list of
# {"merge": null | {"strategy": ..., options...}, "keys": [...]}, the lookup of
# the command-line key returns one {key => value} hash per run instead, with a
# miss or an error given as {"__error__" => message}. Everything else is the
# unchanged `puppet lookup` application run with ARGV.
require 'json'
require 'puppet/util/command_line'
require 'puppet'
require 'puppet/pops'

module Puppet::Pops::Lookup
  class << self
    alias_method :single_lookup, :lookup

    def lookup(name, value_type, default_value, has_default, merge, lookup_invocation)
      runs = ENV['CONFRT_LOOKUP_RUNS']
      # Interpolation (%{lookup('k')}) comes back here with a single key: leave it alone.
      return single_lookup(name, value_type, default_value, has_default, merge, lookup_invocation) if runs.nil? || !name.is_a?(Array)

      JSON.parse(runs).map do |run|
        run['keys'].each_with_object({}) do |key, result|
          begin
            result[key] = single_lookup(key, value_type, default_value, has_default, run['merge'], lookup_invocation)
          rescue StandardError, ScriptError => e # ScriptError: a missing library (an eyaml encryptor)
            result[key] = { '__error__' => e.message }
          end
        end
      end
    end
  end
end

Puppet::Util::CommandLine.new('puppet', ['lookup'] + ARGV).execute
